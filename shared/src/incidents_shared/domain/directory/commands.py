"""Commands: what people (or `incidentctl directory apply`) ask of the directory. Validated strictly."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Self
from uuid import UUID

from pydantic import AfterValidator, field_validator, model_validator

from incidents_shared.domain.directory.model import Id, Name, Service, Team, User, check_slug
from incidents_shared.domain.directory.tokens import TokenHash
from incidents_shared.domain.enums import Role
from incidents_shared.domain.events import Actor
from incidents_shared.domain.oncall import Override, Schedule
from incidents_shared.domain.text import StorableModel, unstorable
from incidents_shared.domain.timeutil import UtcDateTime

# The instants an override may name: the years the log's canonical time text writes and reads back alike.
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class DirectoryMeta:
    """Everything about a command that is not its body; `command_id` seeds the deterministic event id.

    `expected_revision`: the resource's revision the client sent in If-Match, or None.
    """

    command_id: UUID
    actor: Actor
    now: datetime
    correlation_id: str
    expected_revision: int | None = None
    causation_id: str | None = None
    request_hash: str | None = None


def _slug_id(schedule: Schedule) -> Schedule:
    try:
        check_slug(schedule.id)
    except ValueError as exc:
        raise ValueError(f"id: {exc}") from None
    return schedule


DirectorySchedule = Annotated[Schedule, AfterValidator(_slug_id)]


class DirectoryCommand(StorableModel):
    """Base of every directory command: its text, nested resources' included, must be storable on the log."""

    @model_validator(mode="after")
    def _storable_throughout(self) -> Self:
        if (problem := unstorable(self.model_dump().values())) is not None:
            raise ValueError(problem)
        return self


class CreateUser(DirectoryCommand):
    user: User


class UpdateUser(DirectoryCommand):
    """Replace a user (PUT): every field as given."""

    user: User


class DeleteUser(DirectoryCommand):
    id: Id


class CreateTeam(DirectoryCommand):
    team: Team


class UpdateTeam(DirectoryCommand):
    team: Team


class DeleteTeam(DirectoryCommand):
    id: Id


class CreateService(DirectoryCommand):
    service: Service


class UpdateService(DirectoryCommand):
    service: Service


class DeleteService(DirectoryCommand):
    id: Id


class CreateSchedule(DirectoryCommand):
    """Create a schedule: its layers only (overrides are added by AddOverride)."""

    schedule: DirectorySchedule


class UpdateSchedule(DirectoryCommand):
    """Replace a schedule's name, time zone and layers; its overrides stay as they are."""

    schedule: DirectorySchedule


class DeleteSchedule(DirectoryCommand):
    id: Id


class AddOverride(DirectoryCommand):
    """`override.user` covers the schedule over [start, end), over every layer."""

    schedule_id: Id
    override: Override

    @field_validator("override")
    @classmethod
    def _on_the_calendar(cls, value: Override) -> Override:
        for name in ("start", "end"):
            if not EARLIEST <= getattr(value, name) < LATEST:
                raise ValueError(f"{name}: must lie between {EARLIEST.year} and {LATEST.year - 1}")
        return value


class RemoveOverride(DirectoryCommand):
    """Remove the override of `user` starting at `start` (overrides of a schedule never overlap)."""

    schedule_id: Id
    user: Id
    start: UtcDateTime


class IssueToken(DirectoryCommand):
    """Give `user` a personal API token acting with `role` (at most the user's own); only its hash is stored."""

    user: Id
    token_id: Id
    token_hash: TokenHash
    role: Role
    label: Name | None = None


class RevokeToken(DirectoryCommand):
    """Revoke a personal token of `user`: it stops working once the log has the revocation."""

    user: Id
    token_id: Id
