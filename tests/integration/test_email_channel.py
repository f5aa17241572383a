"""Pages by email on the real stack, at a real SMTP server (aiosmtpd): one message with both parts, the facts and a
working acknowledge link, threaded per incident; a 451 is retried (sent on attempt 2), a 550 is recorded failed at
once with the server's reply; without INCIDENTS_SMTP_URL a page is recorded failed saying so. The transport itself:
test_email_transport."""

import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.integration.conftest import ESCALATOR_ENV
from tests.integration.helpers import auth, eventually
from tests.integration.services import Service
from tests.integration.smtp import SMTP_ENV, Mail, SmtpServer, a_mailbox

pytestmark = pytest.mark.integration


async def _created(api: httpx.AsyncClient, tokens: dict[str, str], path: str, body: dict[str, Any]) -> None:
    answer = await api.post(path, json=body, headers=auth(tokens, "admin"))
    assert answer.status_code == 201, answer.text


async def mailed_team(api: httpx.AsyncClient, tokens: dict[str, str], contacts: list[dict[str, str]]) -> str:
    """A person reached by `contacts`, the only member of a team (no schedule) owning a new service: its id."""
    run = uuid.uuid4().hex[:8]
    who, team, service = f"emma-{run}", f"mail-{run}", f"mailer-{run}"
    user = {"id": who, "name": "Emma", "email": f"{who}@example.com", "time_zone": "UTC", "role": "responder",
            "contact_methods": contacts}  # fmt: skip
    await _created(api, tokens, "/v1/users", user)
    await _created(api, tokens, "/v1/teams", {"id": team, "name": "Mail", "members": [who]})
    await _created(api, tokens, "/v1/services", {"id": service, "name": "Mailer", "owner_team": team})
    return service


async def a_p2(api: httpx.AsyncClient, tokens: dict[str, str], service: str) -> tuple[str, str]:
    title = f"Mail queue stuck {uuid.uuid4().hex[:6]}"
    body = {"title": title, "service": service, "impact": "high", "urgency": "medium"}
    answer = await api.post("/v1/incidents", json=body, headers=auth(tokens, "reporter"))
    assert answer.status_code == 201, answer.text
    return answer.json()["incident_id"], title


def about(incident_id: str) -> Any:
    return lambda mail: mail.message["X-Incident-Id"] == incident_id


def acknowledge_link(mail: Mail) -> str:
    [link] = re.findall(r"^Acknowledge: (\S+)", mail.part("plain"), re.MULTILINE)
    return str(link)


async def timeline(api: httpx.AsyncClient, tokens: dict[str, str], incident_id: str) -> list[dict[str, Any]]:
    shown = await api.get(f"/v1/incidents/{incident_id}/timeline", headers=auth(tokens, "auditor"))
    assert shown.status_code == 200, shown.text
    events: list[dict[str, Any]] = shown.json()["events"]
    return events


async def outcomes(api: httpx.AsyncClient, tokens: dict[str, str], incident_id: str) -> list[dict[str, Any]]:
    kinds = ("incident.notification_sent", "incident.notification_failed")
    return [e for e in await timeline(api, tokens, incident_id) if e["type"] in kinds]


async def test_a_p2_pages_by_email_once_with_both_parts_and_a_working_link(
    api: httpx.AsyncClient, tokens: dict[str, str], smtp_server: SmtpServer
) -> None:
    mailbox = a_mailbox("emma")
    service = await mailed_team(api, tokens, [{"kind": "email", "address": mailbox}])
    incident_id, title = await a_p2(api, tokens, service)

    [mail] = await smtp_server.wait_for(about(incident_id), timeout_s=10)
    message = mail.message
    assert mail.recipients == [mailbox] and message["To"] == mailbox
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == f"[P2] {title} ({service}): you are paged"
    assert message["Auto-Submitted"] == "auto-generated"
    text, html = mail.part("plain"), mail.part("html")
    for fact in ("Priority: P2", f"Title: {title}", f"Service: {service}", "Status: new"):
        assert fact in text
    assert title in html and "Acknowledge</a>" in html

    async with httpx.AsyncClient(timeout=10) as browser:  # what a mail client's click does, without a token
        acked = await browser.post(acknowledge_link(mail), json={})
    assert acked.status_code == 200, acked.text

    async def acknowledged() -> bool:
        shown = await api.get(f"/v1/incidents/{incident_id}", headers=auth(tokens, "auditor"))
        return bool(shown.json()["status"] == "acknowledged")

    assert await eventually(acknowledged), "the link acknowledged the incident"
    sent = await eventually(lambda: _sent_on(api, tokens, incident_id, "page:email"))
    assert [e["data"]["attempt"] for e in sent] == [1]
    assert len(smtp_server.tried(mailbox)) == 1, "exactly one message"


async def test_two_messages_about_one_incident_thread_together(
    api: httpx.AsyncClient, tokens: dict[str, str], smtp_server: SmtpServer
) -> None:
    first, later = a_mailbox("emma"), a_mailbox("emma-phone")
    contacts = [{"kind": "email", "address": first}, {"kind": "email", "address": later, "delay": "2s"}]
    incident_id, _ = await a_p2(api, tokens, await mailed_team(api, tokens, contacts))

    one, two = await smtp_server.wait_for(about(incident_id), count=2, timeout_s=15)
    root = f"<incident-{incident_id}@incidents.test>"
    assert one.message["References"] == two.message["References"] == root
    assert one.message["In-Reply-To"] == two.message["In-Reply-To"] == root
    assert one.message["Message-ID"] != two.message["Message-ID"]
    await api.post(f"/v1/incidents/{incident_id}/acknowledge", json={}, headers=auth(tokens, "responder"))


async def test_a_temporary_refusal_is_retried_and_sent_on_attempt_2(
    api: httpx.AsyncClient, tokens: dict[str, str], smtp_server: SmtpServer
) -> None:
    mailbox = a_mailbox("emma")
    smtp_server.answer_next(1, "451 4.3.0 Mailbox busy, try again later", to=mailbox)
    incident_id, _ = await a_p2(api, tokens, await mailed_team(api, tokens, [{"kind": "email", "address": mailbox}]))

    [accepted] = await smtp_server.wait_for(about(incident_id), timeout_s=20)
    assert accepted.recipients == [mailbox]
    sent = await eventually(lambda: _sent_on(api, tokens, incident_id, "page:email"))
    assert [e["data"]["attempt"] for e in sent] == [2], "recorded sent, on attempt 2"
    assert [m.reply[:3] for m in smtp_server.tried(mailbox)] == ["451", "250"]
    await api.post(f"/v1/incidents/{incident_id}/acknowledge", json={}, headers=auth(tokens, "responder"))


async def test_a_permanent_refusal_is_recorded_failed_with_the_reply_and_never_retried(
    api: httpx.AsyncClient, tokens: dict[str, str], smtp_server: SmtpServer
) -> None:
    mailbox = a_mailbox("emma")
    smtp_server.answer_next(5, "550 5.1.1 No such user here", to=mailbox)
    incident_id, _ = await a_p2(api, tokens, await mailed_team(api, tokens, [{"kind": "email", "address": mailbox}]))

    async def failed() -> list[dict[str, Any]]:
        return [e for e in await outcomes(api, tokens, incident_id) if e["type"] == "incident.notification_failed"]

    [event] = await eventually(failed, timeout_s=20)
    assert (event["data"]["channel"], event["data"]["attempt"]) == ("page:email", 1)
    assert event["data"]["error"] == "SMTP 550 5.1.1 No such user here"
    await eventually(lambda: _never(), timeout_s=4)  # well past the first retry's backoff
    assert len(smtp_server.tried(mailbox)) == 1, "no retry after a 5xx"
    assert not [e for e in await outcomes(api, tokens, incident_id) if e["type"] == "incident.notification_sent"]
    await api.post(f"/v1/incidents/{incident_id}/acknowledge", json={}, headers=auth(tokens, "responder"))


@contextlib.asynccontextmanager
async def _escalator_without_smtp(services: dict[str, Service]) -> AsyncIterator[None]:
    """Replace the session's escalator by one without INCIDENTS_SMTP_URL; afterwards the normal one runs again."""
    normal = services["escalator"]
    assert normal.stop() == 0
    unmailed = {k: v for k, v in ESCALATOR_ENV.items() if k not in SMTP_ENV}
    bare = Service("escalator", normal.port, env=unmailed)
    try:
        bare.start()
        yield
    finally:
        assert bare.stop() == 0
        normal.start()


async def test_without_an_smtp_url_an_email_page_is_recorded_failed_saying_so(
    api: httpx.AsyncClient, tokens: dict[str, str], smtp_server: SmtpServer, services: dict[str, Service]
) -> None:
    mailbox = a_mailbox("emma")
    async with _escalator_without_smtp(services):
        service = await mailed_team(api, tokens, [{"kind": "email", "address": mailbox}])
        incident_id, _ = await a_p2(api, tokens, service)

        async def failed() -> list[dict[str, Any]]:
            return [e for e in await outcomes(api, tokens, incident_id) if e["type"] == "incident.notification_failed"]

        [event] = await eventually(failed, timeout_s=20)
    assert (event["data"]["channel"], event["data"]["attempt"]) == ("page:email", 1), "failed for good at once"
    assert "INCIDENTS_SMTP_URL is not set" in event["data"]["error"]
    assert smtp_server.tried(mailbox) == []
    await api.post(f"/v1/incidents/{incident_id}/acknowledge", json={}, headers=auth(tokens, "responder"))


async def _sent_on(api: httpx.AsyncClient, tokens: dict[str, str], incident_id: str, channel: str) -> list[Any]:
    return [
        e
        for e in await outcomes(api, tokens, incident_id)
        if e["type"] == "incident.notification_sent" and e["data"]["channel"] == channel
    ]


async def _never() -> bool:
    return False
