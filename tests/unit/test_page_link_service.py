"""Acknowledging from a page, on the real command use case over in-memory fakes of its ports.

What a person sees: a genuine link shows its incident and changes nothing; posting it acknowledges once, as the
paged user; a forged, expired, reused link, or a user gone from the directory, appends nothing.
"""

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from command_api import page_link_html as html
from command_api.auth import Principal
from command_api.outcomes import Accepted, Refused
from command_api.page_link_service import (
    Acknowledged,
    IncidentMissing,
    LinkRefused,
    LinkUsed,
    PageLinkService,
    PageView,
    UserUnknown,
    directory_roles,
)
from command_api.service import Request
from incidents_shared.domain import commands as c
from incidents_shared.domain import events as e
from incidents_shared.domain.directory.model import User
from incidents_shared.domain.directory.state import DirectoryState, Entry
from incidents_shared.domain.enums import Level, Role
from incidents_shared.domain.errors import Forbidden
from incidents_shared.page_links import PageLinkSigner
from tests.unit.builders import T0
from tests.unit.fakes import Fakes

KEY = bytes.fromhex("33" * 32)
SIGNER = PageLinkSigner({"k": KEY}, "k", "https://incidents.example", timedelta(hours=24))
ROLES = {"alice": Role.RESPONDER, "reed": Role.AUDITOR}
PAGE = UUID("5b0e4a8e-2f7b-4d55-9a77-0e8c2f3a1b11")


class Reader:
    """The fake read model plus the timeline the fake log's accepted events make."""

    def __init__(self, fakes: Fakes) -> None:
        self.fakes = fakes

    async def incident(self, incident_id: UUID) -> Any:
        return await self.fakes.read_model.incident(incident_id)

    async def timeline(self, incident_id: UUID) -> list[dict[str, Any]]:
        accepted = [v.event_id for v in self.fakes.read_model.verdicts.values() if v.verdict == "accepted"]
        events = [ev for ev in self.fakes.log.events if ev.incident_id == incident_id and ev.event_id in accepted]
        return [ev.model_dump(mode="json") for ev in events]


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()


def service(fakes: Fakes, signer: PageLinkSigner | None = SIGNER) -> PageLinkService:
    return PageLinkService(signer, Reader(fakes), fakes.commands(), ROLES.get, clock=fakes.clock)


async def logged(fakes: Fakes, title: str = "Checkout returns 502") -> UUID:
    command = c.LogIncident(title=title, service="checkout", impact=Level.HIGH, urgency=Level.HIGH)
    outcome = await fakes.commands().execute(Request(Principal("dev-reporter", Role.REPORTER), None, command, "t"))
    assert isinstance(outcome, Accepted)
    return outcome.incident_id


def link(fakes: Fakes, incident_id: UUID, user: str = "alice", page: UUID = PAGE) -> str:
    return SIGNER.token(incident_id, page, user, fakes.clock.now())


async def test_a_genuine_link_shows_its_incident_and_changes_nothing(fakes: Fakes) -> None:
    incident_id = await logged(fakes)
    before = list(fakes.log.events)

    view = await service(fakes).show(link(fakes, incident_id))

    assert isinstance(view, PageView)
    assert (view.incident.title, view.claims.user, view.can_acknowledge) == ("Checkout returns 502", "alice", True)
    assert fakes.log.events == before


async def test_posting_acknowledges_once_as_the_paged_user_through_the_page(fakes: Fakes) -> None:
    incident_id = await logged(fakes)
    links = service(fakes)

    first = await links.acknowledge(link(fakes, incident_id), "on it", "corr-page")
    appended = len(fakes.log.events)
    again = await links.acknowledge(link(fakes, incident_id), None, "corr-page-2")

    assert isinstance(first, Acknowledged) and first.incident.status.value == "acknowledged"
    ack = fakes.log.events[-1]
    assert isinstance(ack, e.IncidentAcknowledged)
    assert (ack.actor.id, ack.actor.role, ack.data.page_link, ack.data.comment) == ("alice", "responder", PAGE, "on it")
    assert isinstance(again, LinkUsed)
    assert len(fakes.log.events) == appended


async def test_after_someone_else_acknowledged_the_page_says_who_and_posting_is_refused(fakes: Fakes) -> None:
    incident_id = await logged(fakes)
    other = await service(fakes).acknowledge(link(fakes, incident_id, page=uuid4()), None, "corr-1")
    assert isinstance(other, Acknowledged)
    appended = len(fakes.log.events)

    view = await service(fakes).show(link(fakes, incident_id, user="reed"))
    refused = await service(fakes).acknowledge(link(fakes, incident_id, user="reed"), None, "corr-2")

    assert isinstance(view, PageView) and not view.can_acknowledge and view.acknowledged_by == "alice"
    assert "Already acknowledged by alice" in html.confirmation(view)
    assert isinstance(refused, LinkUsed) and "acknowledged" in refused.detail
    assert len(fakes.log.events) == appended


OTHER_PLATFORM = PageLinkSigner({"k": bytes(32)}, "k", "https://other.example", timedelta(hours=1))
RETIRED_KEY = PageLinkSigner({"old": KEY}, "old", "https://incidents.example", timedelta(hours=1))


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("not-a-token", "forged"),
        (OTHER_PLATFORM.token(uuid4(), PAGE, "alice", T0), "forged"),
        (RETIRED_KEY.token(uuid4(), PAGE, "alice", T0), "unknown-key"),
    ],
)
async def test_forged_and_unknown_links_are_refused_and_append_nothing(fakes: Fakes, token: str, reason: str) -> None:
    before = len(fakes.log.events)

    shown = await service(fakes).show(token)
    posted = await service(fakes).acknowledge(token, None, "corr")

    assert isinstance(shown, LinkRefused) and shown.reason == reason
    assert isinstance(posted, LinkRefused) and posted.reason == reason
    assert len(fakes.log.events) == before


async def test_an_expired_link_is_refused(fakes: Fakes) -> None:
    incident_id = await logged(fakes)
    token = link(fakes, incident_id)
    fakes.clock.advance(timedelta(hours=24).total_seconds())
    before = len(fakes.log.events)

    posted = await service(fakes).acknowledge(token, None, "corr")

    assert isinstance(posted, LinkRefused) and posted.reason == "expired"
    assert len(fakes.log.events) == before


async def test_without_a_key_every_link_is_refused_as_disabled(fakes: Fakes) -> None:
    incident_id = await logged(fakes)

    shown = await service(fakes, signer=None).show(link(fakes, incident_id))

    assert isinstance(shown, LinkRefused) and shown.reason == "disabled"


async def test_a_user_gone_from_the_directory_cannot_acknowledge(fakes: Fakes) -> None:
    incident_id = await logged(fakes)
    before = len(fakes.log.events)

    view = await service(fakes).show(link(fakes, incident_id, user="gone"))
    posted = await service(fakes).acknowledge(link(fakes, incident_id, user="gone"), None, "corr")

    assert isinstance(view, PageView) and not view.can_acknowledge
    assert isinstance(posted, UserUnknown) and posted.user == "gone"
    assert len(fakes.log.events) == before


async def test_a_role_that_may_not_acknowledge_is_refused_by_the_domain(fakes: Fakes) -> None:
    incident_id = await logged(fakes)

    posted = await service(fakes).acknowledge(link(fakes, incident_id, user="reed"), None, "corr")

    assert isinstance(posted, Refused) and isinstance(posted.error, Forbidden)


async def test_a_link_to_an_incident_the_read_model_does_not_have(fakes: Fakes) -> None:
    posted = await service(fakes).acknowledge(link(fakes, uuid4()), None, "corr")

    assert isinstance(posted, IncidentMissing)


def test_roles_come_from_the_directory_as_it_stands() -> None:
    alice = User(id="alice", name="Alice", email="alice@example.com", time_zone="Europe/Amsterdam", role=Role.MANAGER)
    directory = DirectoryState(entries_users={"alice": Entry(alice, 1), "gone": Entry(None, 2)})
    role_of = directory_roles(lambda: directory)

    assert (role_of("alice"), role_of("gone"), role_of("nobody")) == (Role.MANAGER, None, None)


async def test_the_page_escapes_every_text_and_runs_no_script(fakes: Fakes) -> None:
    incident_id = await logged(fakes, title='<script>alert("x")</script> & more')

    view = await service(fakes).show(link(fakes, incident_id))
    assert isinstance(view, PageView)
    page = html.confirmation(view)

    assert "<script>" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more" in page
    assert '<form method="post">' in page and "Acknowledge</button>" in page
    assert "script-src" not in html.CONTENT_SECURITY_POLICY and "default-src 'none'" in html.CONTENT_SECURITY_POLICY
