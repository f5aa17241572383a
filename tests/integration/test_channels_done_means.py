"""Issue 16's first "Done means", on the real stack: a P1 pages the on-call user, whose contact methods are `email`
then `slack` after 2 minutes. The real SMTP server receives one message (both parts, the threading headers, a
working link); acknowledging by that link before the 2 minutes means the Slack receiver never gets anything.

It waits past the 2 minutes before counting (about 2.5 minutes in all)."""

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.integration.conftest import WEBHOOK_PORT
from tests.integration.helpers import auth, eventually
from tests.integration.smtp import Mail, SmtpServer
from tests.integration.webhook import Receiver, running_receiver

pytestmark = pytest.mark.integration
SLACK_DELAY = timedelta(minutes=2)


@pytest.fixture(scope="module")
async def slack() -> AsyncIterator[Receiver]:
    async with running_receiver(WEBHOOK_PORT) as running:
        yield running


async def _created(api: httpx.AsyncClient, tokens: dict[str, str], path: str, body: dict[str, Any]) -> None:
    answer = await api.post(path, json=body, headers=auth(tokens, "admin"))
    assert answer.status_code == 201, answer.text


async def an_oncall(api: httpx.AsyncClient, tokens: dict[str, str]) -> dict[str, str]:
    """Someone on call today on a team's schedule, reached by email at once and by Slack 2 minutes later."""
    run = uuid.uuid4().hex[:8]
    who, team = f"olive-{run}", f"storage-{run}"
    mailbox, hook = f"{who}@example.com", f"/hooks/slack-{who}"
    contacts = [
        {"kind": "email", "address": mailbox},
        {"kind": "slack", "address": f"http://127.0.0.1:{WEBHOOK_PORT}{hook}", "delay": "2m"},
    ]
    user = {"id": who, "name": "Olive", "email": mailbox, "time_zone": "UTC", "role": "responder",
            "contact_methods": contacts}  # fmt: skip
    await _created(api, tokens, "/v1/users", user)
    start = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    layer = {"name": "daily", "start": start.isoformat(), "turn": "P1D", "users": [who]}
    schedule = f"{team}-primary"
    await _created(api, tokens, "/v1/schedules", {"id": schedule, "name": "Storage", "time_zone": "UTC",
                                                  "layers": [layer]})  # fmt: skip
    await _created(api, tokens, "/v1/teams", {"id": team, "name": "Storage", "members": [who], "schedule": schedule})
    service = f"disks-{run}"
    await _created(api, tokens, "/v1/services", {"id": service, "name": "Disks", "owner_team": team})
    return {"user": who, "team": team, "schedule": schedule, "mailbox": mailbox, "hook": hook, "service": service}


async def a_p1_paging(api: httpx.AsyncClient, tokens: dict[str, str], oncall: dict[str, str]) -> str:
    """A P1 of the on-call's service, escalated to whoever is on call on their schedule (the fast policy's P1 steps
    go to the leads' channels; this pages the person)."""
    body = {"title": f"Disks full {uuid.uuid4().hex[:6]}", "service": oncall["service"], "impact": "high",
            "urgency": "high"}  # fmt: skip
    created = await api.post("/v1/incidents", json=body, headers=auth(tokens, "reporter"))
    assert created.status_code == 201, created.text
    incident_id: str = created.json()["incident_id"]
    assert created.json()["priority"] == "P1"
    escalation = {"target_team": oncall["team"], "target_schedule": oncall["schedule"], "comment": "page the on-call"}
    answer = await api.post(f"/v1/incidents/{incident_id}/escalate", json=escalation, headers=auth(tokens, "manager"))
    assert answer.status_code in (200, 202), answer.text
    return incident_id


def _link(mail: Mail, label: str) -> str:
    [url] = re.findall(rf"^{label}: (\S+)", mail.part("plain"), re.MULTILINE)
    return str(url)


async def test_a_p1_by_email_then_slack_acknowledged_by_the_link_never_reaches_slack(
    api: httpx.AsyncClient, tokens: dict[str, str], smtp_server: SmtpServer, slack: Receiver
) -> None:
    oncall = await an_oncall(api, tokens)
    incident_id = await a_p1_paging(api, tokens, oncall)

    [mail] = await smtp_server.wait_for(lambda m: m.message["X-Incident-Id"] == incident_id, timeout_s=15)
    paged_at = datetime.now(UTC)
    message = mail.message
    assert mail.recipients == [oncall["mailbox"]]
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    root = f"<incident-{incident_id}@incidents.test>"
    assert message["In-Reply-To"] == message["References"] == root
    assert message["Message-ID"] and message["Message-ID"] != root
    assert "Priority: P1" in mail.part("plain") and "Acknowledge</a>" in mail.part("html")

    async with httpx.AsyncClient(timeout=10) as browser:
        opened = await browser.get(_link(mail, "Open the incident"))
        acked = await browser.post(_link(mail, "Acknowledge"), json={})
    assert opened.status_code == 200, opened.text
    assert acked.status_code == 200, acked.text
    assert datetime.now(UTC) - paged_at < SLACK_DELAY, "acknowledged well before the Slack contact method is due"

    async def acknowledged() -> bool:
        shown = await api.get(f"/v1/incidents/{incident_id}", headers=auth(tokens, "auditor"))
        return bool(shown.json()["status"] == "acknowledged")

    assert await eventually(acknowledged)
    left = (paged_at + SLACK_DELAY + timedelta(seconds=15) - datetime.now(UTC)).total_seconds()
    await asyncio.sleep(max(left, 0))  # past the moment the Slack contact method was due, and its delivery

    assert [r for r in slack.requests if r.path == oncall["hook"]] == [], "the Slack receiver got nothing"
    assert len(smtp_server.tried(oncall["mailbox"])) == 1, "one message by email"
    shown = await api.get(f"/v1/incidents/{incident_id}/timeline", headers=auth(tokens, "auditor"))
    pages = [e for e in shown.json()["events"] if e["type"] == "incident.paged"]
    assert [(e["data"]["user"], e["data"]["contact"]["kind"]) for e in pages] == [(oncall["user"], "email")]
