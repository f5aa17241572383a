"""What the escalator does with pages that must not reach a real channel, counted at a real receiver.

A drill rehearses the escalation (its steps fire on the log) but notifies nobody: what it would have sent is kept
in the outbox. A page to a team no channel reaches is a failed notification on the timeline and in /metrics.
"""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.integration.conftest import WEBHOOK_PORT
from tests.integration.helpers import auth, eventually, log_incident
from tests.integration.services import Service
from tests.integration.webhook import Receiver, running_receiver


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver(WEBHOOK_PORT) as running:
        yield running


async def _timeline(api: httpx.AsyncClient, tokens: dict[str, str], incident_id: str) -> list[dict[str, Any]]:
    answer = await api.get(f"/v1/incidents/{incident_id}/timeline", headers=auth(tokens, "auditor"))
    events: list[dict[str, Any]] = answer.json()["events"]
    return events


async def test_a_drill_escalates_on_the_log_but_pages_nobody_and_keeps_what_it_would_have_sent(
    api: httpx.AsyncClient, tokens: dict[str, str], receiver: Receiver, db: asyncpg.Connection
) -> None:
    title = f"[drill] checkout down {uuid.uuid4()}"
    drill = await log_incident(api, tokens, title=title, impact="high", urgency="high", drill=True)
    incident_id = drill["incident_id"]
    update = {"audience": "customers", "message": "We are investigating checkout errors."}
    answer = await api.post(f"/v1/incidents/{incident_id}/updates", json=update, headers=auth(tokens, "manager"))
    assert answer.status_code in (200, 202), answer.text

    async def withheld() -> list[asyncpg.Record]:
        rows = await db.fetch(
            "SELECT channel, status, body, attempts FROM escalator_outbox WHERE incident_id = $1 ORDER BY seq",
            uuid.UUID(incident_id),
        )
        return rows if len(rows) >= 3 else []  # the customers' update and the P1's steps at 4 s and 8 s

    rows = await eventually(withheld, timeout_s=20)
    assert {r["status"] for r in rows} == {"drill"}
    assert {r["attempts"] for r in rows} == {0}
    bodies = [json.loads(r["body"]) if isinstance(r["body"], str) else r["body"] for r in rows]
    assert any("We are investigating" in json.dumps(b) for b in bodies), "the update it would have posted"
    escalated = [e for e in await _timeline(api, tokens, incident_id) if e["type"] == "incident.escalated"]
    assert [e["data"]["level"] for e in escalated][:2] == [2, 3], "the drill rehearses the escalation on the log"
    await asyncio.sleep(1.5)  # a delivery would have arrived by now (the sender ticks every 0.2 s)
    assert receiver.about(incident_id) == [], "a drill reaches no real channel"
    kinds = {e["type"] for e in await _timeline(api, tokens, incident_id)}
    assert "incident.notification_sent" not in kinds
    await api.post(f"/v1/incidents/{incident_id}/acknowledge", json={}, headers=auth(tokens, "responder"))


async def test_a_manual_escalation_to_an_unknown_team_is_a_visible_failed_notification(
    api: httpx.AsyncClient, tokens: dict[str, str], receiver: Receiver, services: dict[str, Service]
) -> None:
    created = await log_incident(api, tokens, title=f"Search slow {uuid.uuid4()}", impact="low", urgency="low")
    incident_id = created["incident_id"]
    body = {"target_team": "no-such-team", "level": 2, "comment": "who is this?"}
    answer = await api.post(f"/v1/incidents/{incident_id}/escalate", json=body, headers=auth(tokens, "manager"))
    assert answer.status_code in (200, 202), answer.text

    async def failed() -> dict[str, Any] | None:
        timeline = await _timeline(api, tokens, incident_id)
        return next((e for e in timeline if e["type"] == "incident.notification_failed"), None)

    event = await eventually(failed, timeout_s=15)
    assert event is not None
    assert event["data"]["target"] == "no-such-team"
    assert event["data"]["attempt"] == 1
    assert "unknown team 'no-such-team'" in event["data"]["error"]
    assert "team-leads" in event["data"]["error"], "it names the teams the policy knows"
    assert receiver.about(incident_id) == []
    async with httpx.AsyncClient(base_url=services["escalator"].url) as client:
        text = (await client.get("/metrics")).text
    [line] = [x for x in text.splitlines() if x.startswith('escalator_notifications_total{outcome="undeliverable"}')]
    assert float(line.split()[-1]) >= 1
