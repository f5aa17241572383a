"""The email channel's words: a page, an escalation, a major incident, an update; escaped HTML; email channels in
a policy."""

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from uuid import UUID

import pytest
from pydantic import ValidationError

from escalator.destinations import Destinations
from escalator.email_channel import NOT_CONFIGURED, EmailChannel, html_part, message_for, render, text_part
from incidents_shared.domain import events as e
from incidents_shared.domain import payloads as p
from incidents_shared.domain.enums import ContactKind, Priority
from incidents_shared.domain.escalation.book import PolicyBook
from incidents_shared.domain.escalation.destinations import ChannelRef, ContactRef
from incidents_shared.domain.escalation.people import People
from incidents_shared.domain.escalation.policy import Channel, ChannelKind
from incidents_shared.domain.escalation.recipients import Delivery
from incidents_shared.mail.transport import SmtpTarget
from tests.unit.test_escalation_rules import logged, person, simulated
from tests.unit.test_escalation_rules import policy as a_policy

INCIDENT = UUID("0c1f2b4e-5d6a-4b7c-8d9e-0f1a2b3c4d5e")
DELIVERY = UUID("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d")
AT = datetime(2027, 3, 28, 8, 30, tzinfo=UTC)
ACK = "https://incidents.example/v1/page-links/abc.def"
TARGET = SmtpTarget("127.0.0.1", 2525, sender="Incidents <incidents@example.com>")


def facts(event_type: str = "incident.paged", **more: Any) -> dict[str, Any]:
    base = {"event_type": event_type, "incident_id": str(INCIDENT), "title": "Checkout down", "service": "checkout",
            "priority": "P2", "status": "new", "reason": "step", "level": 1,
            "links": {"acknowledge": ACK, "incident": ACK}}  # fmt: skip
    return base | more


def parsed(message: EmailMessage) -> EmailMessage:
    again = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(again, EmailMessage)
    return again


def test_a_page_says_priority_title_service_status_and_links() -> None:
    rendered = render(facts())
    text = text_part(rendered)

    assert rendered.subject == "[P2] Checkout down (checkout): you are paged"
    assert "You are paged for this incident (step, level 1)." in text
    for line in ("Priority: P2", "Title: Checkout down", "Service: checkout", "Status: new", f"Acknowledge: {ACK}"):
        assert line in text
    assert f"<a href='{ACK}'>Acknowledge</a>" in html_part(rendered)


@pytest.mark.parametrize(
    ("more", "subject_ends", "lead"),
    [
        ({"event_type": "incident.escalated", "level": 2, "team": "payments", "reason": "unacknowledged"},
         "escalated", "Escalated to level 2, team payments (unacknowledged)."),
        ({"event_type": "incident.major_declared", "reason": "P1 for 10 minutes"},
         "major incident", "Declared a major incident: P1 for 10 minutes"),
        ({"event_type": "incident.stakeholder_update_posted", "audience": "executives", "message": "Mitigated."},
         "update", "Update for executives: Mitigated."),
    ],
)  # fmt: skip
def test_policy_channel_messages(more: dict[str, Any], subject_ends: str, lead: str) -> None:
    rendered = render(facts(links=None) | more)

    assert rendered.subject.endswith(subject_ends) and rendered.lead == lead and rendered.links == []


def test_html_is_escaped_and_only_web_links_are_linked() -> None:
    hostile = facts(title="<script>alert('x')</script>", links={"acknowledge": "javascript:alert(1)"})
    page = html_part(render(hostile))

    assert "<script>" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "javascript:" not in page


def test_the_message_has_both_parts_threading_and_auto_submitted() -> None:
    message = parsed(message_for(facts(), INCIDENT, DELIVERY, "ann@example.com", TARGET, AT))

    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["To"] == "ann@example.com" and message["From"] == "Incidents <incidents@example.com>"
    assert message["References"] == message["In-Reply-To"] == f"<incident-{INCIDENT}@example.com>"
    assert message["Message-ID"] == f"<{DELIVERY}.{INCIDENT}@example.com>"
    assert message["Auto-Submitted"] == "auto-generated" and message["X-Incident-Id"] == str(INCIDENT)


def test_an_email_channel_names_its_mailbox_with_mailto() -> None:
    channel = Channel(kind=ChannelKind.EMAIL, url="mailto:ops@example.com")
    hook = Channel(kind=ChannelKind.WEBHOOK, url="https://hooks.example/x")

    assert (channel.destination(), hook.destination()) == ("ops@example.com", "https://hooks.example/x")


@pytest.mark.parametrize(
    ("kind", "url"),
    [(ChannelKind.EMAIL, "https://hooks.example/x"), (ChannelKind.SLACK, "mailto:ops@example.com"),
     (ChannelKind.EMAIL, "mailto:ops")],
)  # fmt: skip
def test_a_url_that_does_not_fit_the_kind_is_refused(kind: ChannelKind, url: str) -> None:
    with pytest.raises(ValidationError):
        Channel(kind=kind, url=url)


def test_a_digest_lists_each_held_incident_with_its_acknowledge_link() -> None:
    held = [
        {"incident_id": "i-1", "title": "Disk full", "priority": "P2", "links": {"acknowledge": ACK + "1"}},
        {"incident_id": "i-2", "title": "CPU hot", "priority": None, "links": {}},
    ]
    rendered = render({"event_type": "incident.paged", "reason": "digest", "total": 2, "incidents": held})
    text = text_part(rendered)

    assert rendered.subject == "2 incidents paged you: one digest"
    assert "[P2] Disk full: incident i-1" in text and "[-] CPU hot: incident i-2" in text
    assert rendered.links == [("Acknowledge [P2] Disk full", ACK + "1")]


class _Clock:
    def now(self) -> datetime:
        return AT


def a_delivery() -> Delivery:
    return Delivery(DELIVERY, INCIDENT, DELIVERY, 0, "page:email", ChannelKind.EMAIL,
                    ContactRef("ann", 0, ContactKind.EMAIL), "ann", facts())  # fmt: skip


async def test_without_smtp_url_every_email_fails_for_good_saying_so() -> None:
    result = await EmailChannel(None, _Clock(), timeout_s=1).send(a_delivery(), "ann@example.com")

    assert (result.error, result.permanent) == (NOT_CONFIGURED, True)
    assert "INCIDENTS_SMTP_URL" in NOT_CONFIGURED


async def test_a_destination_that_is_not_a_mailbox_fails_for_good_without_connecting() -> None:
    unreachable = SmtpTarget("192.0.2.1", 25, sender="incidents@example.com")  # TEST-NET-1: never answers
    result = await EmailChannel(unreachable, _Clock(), timeout_s=1).send(a_delivery(), "ann@example.com\nBcc: x@y.z")

    assert result.permanent and "is not a mailbox" in (result.error or "")


def test_a_stakeholder_update_goes_to_an_email_channel_resolved_to_its_mailbox_when_sent() -> None:
    mailed = a_policy({"P1": {"acknowledge": "5m", "resolve": "1h"}}, stakeholders={"executives": ["execs"]},
                    channels={"execs": {"kind": "email", "url": "mailto:execs@example.com"}})  # fmt: skip
    update = p.StakeholderUpdateData(audience="executives", message="Payments restored.")
    book = PolicyBook(mailed)
    sim = simulated(book, [logged(Priority.P1), person(e.StakeholderUpdatePosted, 1, update)])

    [delivery] = sim.deliveries
    assert (delivery.kind, delivery.destination) == (ChannelKind.EMAIL, ChannelRef("execs"))
    assert Destinations(book, People).resolve(delivery) == "execs@example.com"
    rendered = render(delivery.body)
    assert rendered.subject == "[P1] Checkout down (checkout): update"
    assert rendered.lead == "Update for executives: Payments restored."
