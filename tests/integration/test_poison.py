"""Poison records park only their incident; operators see them and release them after a fix."""

import uuid
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer

from incidents_shared.db import create_pool
from incidents_shared.settings import CommonSettings
from projector.release import release
from tests.integration.fixes import future_note
from tests.integration.helpers import auth, eventually, log_incident
from tests.integration.rawlog import produce
from tests.integration.services import Service


async def _parked(db: asyncpg.Connection, key: str, waiting: int) -> bool:
    count = await db.fetchval("SELECT count(*) FROM parked_events WHERE incident_key = $1", key)
    parked = await db.fetchval("SELECT count(*) FROM parked_incidents WHERE incident_key = $1", key)
    return bool(parked == 1 and count == waiting)


async def _dead_letter(settings: CommonSettings, key: str) -> Any:
    consumer = AIOKafkaConsumer(
        settings.dlq_topic, bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        for _ in range(20):
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    if record.key == key.encode():
                        return record
        return None
    finally:
        await consumer.stop()


async def test_poison_parks_one_incident_and_stays_parked_until_it_decodes(
    api: httpx.AsyncClient,
    tokens: dict[str, str],
    db: asyncpg.Connection,
    settings: CommonSettings,
    services: dict[str, Service],
) -> None:
    # No priority: the escalator then appends nothing of its own to this incident (no SLA targets).
    poisoned = (await log_incident(api, tokens, title="poisoned", impact=None, urgency=None))["incident_id"]
    await produce(settings, poisoned, b"{not json")
    await eventually(lambda: _parked(db, poisoned, 0))
    waiting = await api.post(
        f"/v1/incidents/{poisoned}/acknowledge", json={}, headers=auth(tokens, "responder", Prefer="respond-async")
    )
    assert waiting.status_code == 202
    assert await eventually(lambda: _parked(db, poisoned, 1)), "the later event waits, unjudged"

    healthy = (await log_incident(api, tokens, title="healthy"))["incident_id"]
    acked = await api.post(f"/v1/incidents/{healthy}/acknowledge", json={}, headers=auth(tokens, "responder"))
    assert acked.status_code == 200, "every other incident keeps flowing"

    listed = await api.get("/v1/operations/parked", headers=auth(tokens, "auditor"))
    mine = [p for p in listed.json()["parked"] if p["incident_key"] == poisoned]
    assert len(mine) == 1 and mine[0]["waiting"] == 1 and "not JSON" in mine[0]["reason"]
    letter = await _dead_letter(settings, poisoned)
    assert letter is not None and letter.value == b"{not json"
    headers = dict(letter.headers)
    assert headers["offset"].decode() == str(mine[0]["offset"]) and b"not JSON" in headers["error"]

    url = f"/v1/operations/parked/{poisoned}/release"
    assert (await api.post(url, headers=auth(tokens, "auditor"))).status_code == 403
    refused = await api.post(url, headers=auth(tokens, "admin"))
    assert refused.status_code == 409 and refused.json()["type"].endswith("/still-poison")
    assert await _parked(db, poisoned, 1)
    unknown = await api.post(f"/v1/operations/parked/{uuid.uuid4()}/release", headers=auth(tokens, "admin"))
    assert unknown.status_code == 404

    async def gauge() -> bool:
        async with httpx.AsyncClient() as client:
            metrics = (await client.get(f"{services['projector'].url}/metrics")).text
        line = next(x for x in metrics.splitlines() if x.startswith("projector_parked_incidents "))
        lag = [x for x in metrics.splitlines() if x.startswith('projector_consumer_lag{partition="')]
        return float(line.split()[1]) >= 1 and len(lag) == settings.topic_partitions

    assert await eventually(gauge, timeout_s=15)


async def test_release_after_a_fix_judges_the_parked_records_in_order(
    api: httpx.AsyncClient, tokens: dict[str, str], db: asyncpg.Connection, settings: CommonSettings
) -> None:
    incident_id = (await log_incident(api, tokens, title="future note", impact=None, urgency=None))["incident_id"]
    note = future_note(uuid.UUID(incident_id), "disk")
    await produce(settings, incident_id, note)
    await eventually(lambda: _parked(db, incident_id, 0))
    waiting = await api.post(
        f"/v1/incidents/{incident_id}/acknowledge", json={}, headers=auth(tokens, "responder", Prefer="respond-async")
    )
    assert await eventually(lambda: _parked(db, incident_id, 1))

    pool = await create_pool(settings)
    try:
        async with pool.acquire() as conn:
            done = await release(conn, incident_id)
    finally:
        await pool.close()
    assert (done.judged, done.accepted) == (2, 2)

    shown = (await api.get(f"/v1/incidents/{incident_id}", headers=auth(tokens, "auditor"))).json()
    assert (shown["status"], shown["notes_count"], shown["version"]) == ("acknowledged", 1, 3)
    verdict = await api.get(waiting.headers["Location"], headers=auth(tokens, "auditor"))
    assert verdict.json()["verdict"] == "accepted"
    assert not await _parked(db, incident_id, 0)
    found = await api.get("/v1/incidents", params={"q": "disk"}, headers=auth(tokens, "auditor"))
    assert incident_id in {i["incident_id"] for i in found.json()["items"]}
