"""A timer whose event cannot be built is parked with its error (decision 0095); the escalator keeps firing the
others instead of failing every tick on it."""

import uuid
from typing import Any

import asyncpg
import httpx

from incidents_shared.domain.events import IncidentEscalated
from incidents_shared.settings import CommonSettings
from tests.integration.helpers import events_in_log, eventually
from tests.integration.services import Service


async def _logged(api: httpx.AsyncClient, tokens: dict[str, str], body: dict[str, str]) -> dict[str, Any]:
    """Log an incident as a client would on a busy host: a 202 (verdict not in yet) is asked again with the same
    Idempotency-Key until the 201."""
    headers = {"Authorization": f"Bearer {tokens['reporter']}", "Idempotency-Key": str(uuid.uuid4())}

    async def created() -> dict[str, Any] | None:
        answer = await api.post("/v1/incidents", json={"service": "checkout", **body}, headers=headers)
        assert answer.status_code in (201, 202), answer.text
        return answer.json() if answer.status_code == 201 else None

    found: dict[str, Any] = await eventually(created, timeout_s=30)
    assert found, "the incident was logged"
    return found


async def test_a_timer_that_cannot_build_its_event_is_parked_and_the_rest_fire(
    api: httpx.AsyncClient,
    tokens: dict[str, str],
    db: asyncpg.Connection,
    settings: CommonSettings,
    services: dict[str, Service],
) -> None:
    host = await _logged(api, tokens, {"title": f"bad timer host {uuid.uuid4()}", "impact": "low", "urgency": "low"})
    host_id = uuid.UUID(host["incident_id"])

    async def armed() -> int | None:
        value: int | None = await db.fetchval(
            "SELECT partition FROM escalator_timers WHERE incident_id = $1 LIMIT 1", host_id
        )
        return value

    partition = await eventually(armed, timeout_s=15)
    assert partition is not None, "the escalator armed the host incident's timers"
    bad = uuid.uuid4()
    await db.execute(  # SLA targets without their fields: SlaTargetsSetData cannot be built from it
        "INSERT INTO escalator_timers (timer_id, incident_id, kind, step, due_at, partition, causation_id,"
        " correlation_id, payload) VALUES ($1, $2, 'targets', 0, now(), $3, 'test', 'test', '{}'::jsonb)",
        bad,
        host_id,
        partition,
    )

    async def parked() -> asyncpg.Record | None:
        row: asyncpg.Record | None = await db.fetchrow(
            "SELECT status, parked_error FROM escalator_timers WHERE timer_id = $1 AND status <> 'pending'", bad
        )
        return row

    row = await eventually(parked, timeout_s=15)
    assert row is not None and row["status"] == "parked", row
    assert "validation error" in row["parked_error"].lower()

    p1 = await _logged(api, tokens, {"title": f"fires anyway {uuid.uuid4()}", "impact": "high", "urgency": "high"})

    async def escalated() -> bool:
        return any(isinstance(e, IncidentEscalated) for e in await events_in_log(settings, p1["incident_id"]))

    assert await eventually(escalated, timeout_s=20), "the other timers fire"
    escalator = services["escalator"]
    assert escalator.process is not None and escalator.process.poll() is None, "the escalator is still running"
    await api.post(
        f"/v1/incidents/{p1['incident_id']}/acknowledge",
        json={},
        headers={"Authorization": f"Bearer {tokens['responder']}"},
    )
