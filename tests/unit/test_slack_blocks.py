"""Slack messages in Block Kit: the section, the buttons a press comes back with, and nothing injectable."""

from typing import Any

from incidents_shared.domain.escalation.slack_blocks import ACKNOWLEDGE, OPEN, RESOLVE, SECTION_LIMIT, slack_message
from tests.unit.test_paging import BASE, directory, logged, s, simulator

INCIDENT = "7a4f0e8e-0c1d-4b6a-9f3e-2d1c0b9a8f70"


def facts(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_id": "0b9e4f1a-5a57-4c39-9d55-5d8e1b9f0a11",
        "event_type": "incident.paged",
        "incident_id": INCIDENT,
        "title": "Checkout fails",
        "service": "checkout",
        "priority": "P1",
        "status": "new",
        "reason": "step",
        "level": 1,
        "links": {"acknowledge": "https://x.example/v1/page-links/t", "incident": "https://x.example/v1/page-links/t"},
    }
    return base | changes


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    [actions] = [b for b in message["blocks"] if b["type"] == "actions"]
    return {button["action_id"]: button for button in actions["elements"]}


def test_a_page_has_the_fallback_text_a_section_and_acknowledge_resolve_open() -> None:
    message = slack_message("fallback", facts())
    assert message["text"] == "fallback"
    section = message["blocks"][0]
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    assert section["text"]["text"] == f"*[P1] Checkout fails*\nService: checkout · Status: new\nIncident {INCIDENT}"
    assert message["blocks"][1]["elements"][0]["text"] == "You are paged (step, level 1)"
    found = buttons(message)
    assert list(found) == [ACKNOWLEDGE, RESOLVE, OPEN]
    assert found[ACKNOWLEDGE]["value"] == INCIDENT and found[RESOLVE]["value"] == INCIDENT
    assert found[ACKNOWLEDGE]["text"] == {"type": "plain_text", "text": "Acknowledge"}
    assert found[OPEN]["url"] == "https://x.example/v1/page-links/t"


def test_buttons_follow_the_status_and_open_needs_a_link() -> None:
    assert list(buttons(slack_message("t", facts(status="acknowledged", links={})))) == [RESOLVE]
    resolved = slack_message("t", facts(status="resolved", links={}))
    assert [b["type"] for b in resolved["blocks"]] == ["section", "context"], "nothing to press on a resolved one"


def test_incident_text_cannot_mention_link_or_ping() -> None:
    message = slack_message("t", facts(title="<!channel> <https://evil|Login> & more", service="<@U123>"))
    text = message["blocks"][0]["text"]["text"]
    assert "<!channel>" not in text and "<https://evil|Login>" not in text and "<@U123>" not in text
    assert "&lt;!channel&gt; &lt;https://evil|Login&gt; &amp; more" in text and "&lt;@U123&gt;" in text


def test_a_long_title_is_clipped_to_what_slack_takes() -> None:
    message = slack_message("t", facts(title="x" * 5_000))
    assert len(message["blocks"][0]["text"]["text"]) == SECTION_LIMIT


def test_a_digest_without_one_incident_stays_text_only() -> None:
    assert slack_message("3 more incidents", {"incident_id": INCIDENT, "total": 3, "incidents": []}) == {
        "text": "3 more incidents"
    }


def test_a_slack_page_from_the_escalators_fold_carries_the_buttons() -> None:
    sim = simulator(directory(*BASE))
    sim.append(logged())
    sim.advance(s(5 * 60))  # ann's second contact method is Slack, 5 minutes after the page
    [chat] = [delivery for delivery in sim.deliveries if delivery.channel == "page:slack"]
    assert "<https://incidents.example/v1/page-links/" in chat.body["text"], "the fallback text keeps its links"
    found = buttons(chat.body)
    assert found[ACKNOWLEDGE]["value"] == str(chat.incident_id)
    assert OPEN not in found, "the test's links name no incident page"
