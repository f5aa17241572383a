"""Acknowledging from a page: verify the signed link, show its incident, acknowledge as the paged user.

No login: the link is the authority (docs/decisions/0071). Showing never changes anything (chat and mail previews
fetch links). Acknowledging goes through the command use case like any command, as the paged user with the role
the directory gives them now, with `Idempotency-Key: page-link:<page>`; the incident log refuses a second use of a
page's link (`Incident.page_links_used`), so single use holds even when two clicks race.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from uuid import UUID

import structlog

from command_api.auth import Principal
from command_api.outcomes import Accepted, CommandOutcome, KeyReused, Pending, Refused, Rejected, Replayed
from command_api.ports import Clock, SystemClock
from command_api.service import Request
from incidents_shared.domain import commands as c
from incidents_shared.domain.directory.state import DirectoryState
from incidents_shared.domain.enums import Role, Status
from incidents_shared.domain.errors import IncidentNotFound, InvalidTransition
from incidents_shared.domain.state import Incident
from incidents_shared.page_links import ExpiredLink, ForgedLink, PageClaims, PageLinkSigner, UnknownKey

log = structlog.get_logger(__name__)

RoleOf = Callable[[str], Role | None]
"""The role a user has in the directory now; None when the directory does not know them (any more)."""


def directory_roles(directory: Callable[[], DirectoryState]) -> RoleOf:
    """`RoleOf` read from the directory as it stands at each call."""

    def role_of(user: str) -> Role | None:
        found = directory().users.get(user)
        return found.role if found is not None else None

    return role_of


class IncidentPages(Protocol):
    """What a page link needs of the read model."""

    async def incident(self, incident_id: UUID) -> Incident | None:
        """The incident's current state, None when it does not exist."""

    async def timeline(self, incident_id: UUID) -> list[dict[str, Any]]:
        """The incident's accepted events, oldest first, as JSON objects."""


class Commands(Protocol):
    async def execute(self, req: Request) -> CommandOutcome:
        """Decide, append, wait for the verdict (command_api.service.CommandService)."""


@dataclass(frozen=True)
class PageView:
    """What the confirmation page shows."""

    claims: PageClaims
    incident: Incident
    acknowledged_by: str | None  # who acknowledged it, when it was
    user_known: bool  # the paged user is still in the directory

    @property
    def link_used(self) -> bool:
        return self.claims.page_id in self.incident.page_links_used

    @property
    def can_acknowledge(self) -> bool:
        return self.incident.status is Status.NEW and not self.link_used and self.user_known


@dataclass(frozen=True)
class LinkRefused:
    """The link is not honoured: page links are off, or it is forged, of an unknown key, or expired."""

    reason: Literal["disabled", "forged", "unknown-key", "expired"]
    detail: str


@dataclass(frozen=True)
class IncidentMissing:
    incident_id: UUID


@dataclass(frozen=True)
class UserUnknown:
    """The paged user is no longer in the directory: nobody to acknowledge as."""

    user: str


@dataclass(frozen=True)
class LinkUsed:
    """The link was used already, or the incident is acknowledged (or past it): nothing was appended."""

    detail: str


@dataclass(frozen=True)
class Acknowledged:
    incident: Incident
    state_json: str  # the incident as the projector stored it
    revision: int
    user: str  # who acknowledged it


ShowOutcome = PageView | LinkRefused | IncidentMissing
AckOutcome = Acknowledged | Pending | Refused | LinkRefused | IncidentMissing | UserUnknown | LinkUsed


@dataclass
class PageLinkService:
    signer: PageLinkSigner | None  # None: no key configured, every link is unknown
    read_model: IncidentPages
    commands: Commands
    role_of: RoleOf
    clock: Clock = field(default_factory=SystemClock)

    async def show(self, token: str) -> ShowOutcome:
        """The incident of a genuine link, for the confirmation page. Changes nothing."""
        claims = self._verify(token)
        if isinstance(claims, LinkRefused):
            return claims
        incident = await self.read_model.incident(claims.incident_id)
        if incident is None:
            return IncidentMissing(claims.incident_id)
        by = await self._acknowledged_by(incident)
        return PageView(claims, incident, by, self.role_of(claims.user) is not None)

    async def acknowledge(self, token: str, comment: str | None, correlation_id: str) -> AckOutcome:
        """Acknowledge the link's incident as its paged user, once."""
        claims = self._verify(token)
        if isinstance(claims, LinkRefused):
            return claims
        role = self.role_of(claims.user)
        if role is None:
            return UserUnknown(claims.user)
        incident = await self.read_model.incident(claims.incident_id)
        if incident is None:
            return IncidentMissing(claims.incident_id)
        if (used := _used(incident, claims)) is not None:
            return used
        command = c.AcknowledgeFromPage(page_link=claims.page_id, comment=comment)
        request = Request(
            Principal(id=claims.user, role=role),
            claims.incident_id,
            command,
            correlation_id,
            idempotency_key=f"page-link:{claims.page_id}",
        )
        outcome = _judged(await self.commands.execute(request), claims)
        log.info(
            "page_link_used",
            incident_id=str(claims.incident_id),
            page_id=str(claims.page_id),
            user=claims.user,
            outcome=type(outcome).__name__,
        )
        return outcome

    def _verify(self, token: str) -> PageClaims | LinkRefused:
        if self.signer is None:
            return LinkRefused("disabled", "page links are not enabled on this platform")
        try:
            return self.signer.verify(token, self.clock.now())
        except ForgedLink:
            return LinkRefused("forged", "this is not a page link this platform signed")
        except UnknownKey:
            return LinkRefused("unknown-key", "this page link was signed with a key no longer in use")
        except ExpiredLink as expired:
            return LinkRefused("expired", f"this page link expired at {expired.claims.expires_at.isoformat()}")

    async def _acknowledged_by(self, incident: Incident) -> str | None:
        if incident.acknowledged_at is None:
            return None
        acks = [e for e in await self.read_model.timeline(incident.incident_id) if e["type"] == "incident.acknowledged"]
        return str(acks[-1]["actor"]["id"]) if acks else None


def _used(incident: Incident, claims: PageClaims) -> LinkUsed | None:
    if claims.page_id in incident.page_links_used:
        return LinkUsed("this page link was used already")
    if incident.status is not Status.NEW:
        return LinkUsed(f"the incident is {incident.status.value} already")
    return None


def _judged(outcome: CommandOutcome, claims: PageClaims) -> AckOutcome:
    """The command's outcome in page link terms: anything that says "used already" is a LinkUsed."""
    if isinstance(outcome, Accepted):
        incident = Incident.model_validate_json(outcome.state_json)
        return Acknowledged(incident, outcome.state_json, outcome.revision, claims.user)
    if isinstance(outcome, Replayed | KeyReused):
        return LinkUsed("this page link was used already")
    if isinstance(outcome, Rejected):
        return LinkUsed(outcome.reason or "the incident log refused the acknowledgement")
    if isinstance(outcome, Refused) and isinstance(outcome.error, InvalidTransition):
        return LinkUsed(str(outcome.error))
    if isinstance(outcome, Refused) and isinstance(outcome.error, IncidentNotFound):
        return IncidentMissing(claims.incident_id)
    return outcome
