"""Records written straight to the topic: poison, out of order, duplicated."""

import uuid

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from incidents_shared.domain.codec import canonical_bytes
from incidents_shared.settings import CommonSettings
from tests.faults import report
from tests.faults.ledger import check_invariants
from tests.integration.helpers import auth, events_in_log, log_incident


async def _produce(settings: CommonSettings, records: list[tuple[str, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(settings.events_topic, value, key=key.encode())
    finally:
        await producer.stop()


async def test_poison_out_of_order_and_duplicates(
    api: httpx.AsyncClient, tokens: dict[str, str], db: asyncpg.Connection, settings: CommonSettings
) -> None:
    # Two real incidents, to take events from. No priority: the escalator then appends nothing of its own to
    # them (no SLA targets), so their events in the log are exactly the ones sent here.
    first = await log_incident(api, tokens, title="source of a duplicate", impact=None, urgency=None)
    [logged] = await events_in_log(settings, first["incident_id"])
    second = await log_incident(api, tokens, title="source of an out-of-order pair", impact=None, urgency=None)
    await api.post(f"/v1/incidents/{second['incident_id']}/acknowledge", json={}, headers=auth(tokens, "responder"))
    logged2, acked2 = await events_in_log(settings, second["incident_id"])

    # The same pair for a new incident, acknowledged before it is logged.
    fresh = str(uuid.uuid4())
    moved = [
        e.model_copy(update={"incident_id": uuid.UUID(fresh), "event_id": uuid.uuid4()}) for e in (acked2, logged2)
    ]
    poison_key = str(uuid.uuid4())
    await _produce(
        settings,
        [
            (str(logged.incident_id), canonical_bytes(logged)),  # a duplicate of an accepted event
            (fresh, canonical_bytes(moved[0])),  # acknowledged before logged
            (fresh, canonical_bytes(moved[1])),
            (poison_key, b'{"type": "incident.logged", "not": "an event"'),
            (
                poison_key,
                canonical_bytes(
                    moved[1].model_copy(update={"incident_id": uuid.UUID(poison_key), "event_id": uuid.uuid4()})
                ),
            ),
        ],
    )
    folded = await check_invariants(settings, db, None)

    assert folded.in_log[logged.event_id] == 2
    assert await db.fetchval("SELECT count(*) FROM incident_events WHERE event_id = $1", logged.event_id) == 1
    assert folded.verdicts[moved[0].event_id] == "rejected_invalid"
    assert folded.verdicts[moved[1].event_id] == "accepted"
    state = await api.get(f"/v1/incidents/{fresh}", headers=auth(tokens, "auditor"))
    assert state.json()["status"] == "new", "the early acknowledgement changed nothing"

    parked = await db.fetchrow("SELECT reason FROM parked_incidents WHERE incident_key = $1", poison_key)
    assert parked is not None and "not JSON" in parked["reason"]
    assert await db.fetchval("SELECT count(*) FROM parked_events WHERE incident_key = $1", poison_key) == 1
    assert await db.fetchval("SELECT count(*) FROM incidents WHERE incident_id = $1", uuid.UUID(poison_key)) == 0
    assert await _in_dead_letter_topic(settings, poison_key)
    report.record("poison, out-of-order and duplicate records written straight to the topic", None, folded)


async def _in_dead_letter_topic(settings: CommonSettings, key: str) -> bool:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(settings.dlq_topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        while await consumer.position(tp) < end:
            for record in (await consumer.getmany(tp, timeout_ms=1_000)).get(tp, []):
                headers = {k: v.decode() for k, v in record.headers}
                if record.key == key.encode():
                    return "not JSON" in headers["error"] and headers["partition"].isdigit()
        return False
    finally:
        await consumer.stop()
