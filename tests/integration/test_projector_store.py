"""The projector's store on real PostgreSQL (in a schema of its own): COPY-written events and verdicts, notes
folded into the state upsert, duplicates, poison, and the hash chain stored alongside."""

import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from incidents_shared.db import Pool, create_pool, migrate
from incidents_shared.domain import commands as c
from incidents_shared.domain.codec import GENESIS_HASH, canonical_bytes
from incidents_shared.domain.decide import decide
from incidents_shared.domain.events import Actor, EventBase
from incidents_shared.domain.fold import advance
from incidents_shared.domain.record import Record
from incidents_shared.domain.state import Incident
from incidents_shared.projection import store
from incidents_shared.settings import CommonSettings

GROUP, TOPIC = "projector", "test.store.v1"
ACTOR = Actor(id="store-test", kind="service", role="manager")
LIFE: list[c.Command] = [
    c.LogIncident(title="Disk full", service="billing", impact="medium", urgency="high"),
    c.AddNote(kind="note", text="first"),
    c.AddNote(kind="note", text="second"),
    c.AddNote(kind="note", text="third"),
]


def life(commands: list[c.Command]) -> list[EventBase]:
    incident_id, state, events = uuid.uuid4(), None, []
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n, command in enumerate(commands):
        meta = c.CommandMeta(incident_id, uuid.uuid4(), ACTOR, start + timedelta(seconds=n), "store-test")
        for event in decide(state, command, meta):
            state = advance(state, event)
            events.append(event)
    return events


class Log:
    """Records on one partition, offsets counted like Kafka's."""

    def __init__(self) -> None:
        self.next = 0

    def records(self, values: list[tuple[str, bytes]]) -> list[Record]:
        out = [Record(0, self.next + i, key, value) for i, (key, value) in enumerate(values)]
        self.next += len(values)
        return out


def on_log(events: list[EventBase]) -> list[tuple[str, bytes]]:
    return [(str(ev.incident_id), canonical_bytes(ev)) for ev in events]


@pytest.fixture
async def pool(settings: CommonSettings) -> AsyncIterator[Pool]:
    schema = f"store_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(settings.database_url)
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    created = await create_pool(settings, server_settings={"search_path": schema})
    try:
        async with created.acquire() as conn:
            await migrate(conn)
        yield created
    finally:
        await created.close()
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


async def apply(pool: Pool, records: list[Record]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        outcome, _ = await store.judge_records(conn, records)
        await store.write(conn, outcome, GROUP, TOPIC)


async def test_a_batch_with_a_duplicate_and_a_redelivery_writes_each_event_once(pool: Pool) -> None:
    events, log = life(LIFE), Log()
    await apply(pool, log.records(on_log(events[:2]) + on_log(events[1:3])))  # events[1] twice in one batch
    await apply(pool, log.records(on_log(events)))  # a producer retry of all of them, then the last one
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM event_verdicts") == len(events)
        rows = await conn.fetch("SELECT event_id, version, position FROM incident_events ORDER BY version")
        offsets = await conn.fetchval("SELECT next_offset FROM consumer_offsets WHERE group_id = $1", GROUP)
    assert [r["event_id"] for r in rows] == [ev.event_id for ev in events]
    assert [r["position"] for r in rows] == [1, 2, 3, 4]
    assert offsets == log.next


async def test_stored_events_carry_their_canonical_json_and_the_hash_chain(pool: Pool) -> None:
    events, log = life(LIFE), Log()
    await apply(pool, log.records(on_log(events)))
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT event, type, prev_hash, hash FROM incident_events ORDER BY version")
        state = Incident.model_validate(await conn.fetchval("SELECT state FROM incidents"))
    previous = GENESIS_HASH
    for row, ev in zip(rows, events, strict=True):
        assert row["event"] == ev.model_dump(mode="json") and row["type"] == row["event"]["type"]
        assert row["prev_hash"] == previous
        previous = hashlib.sha256(previous.encode() + canonical_bytes(ev)).hexdigest()
        assert row["hash"] == previous
    assert state.last_hash == previous and state.version == len(events)


async def test_notes_of_one_batch_and_the_next_append_in_log_order(pool: Pool) -> None:
    events, log = life(LIFE), Log()
    await apply(pool, log.records(on_log(events[:3])))
    await apply(pool, log.records(on_log(events[3:])))
    async with pool.acquire() as conn:
        notes = await conn.fetch(
            "SELECT n.body FROM incident_notes n JOIN incident_events e USING (event_id) ORDER BY e.version"
        )
    assert [n["body"] for n in notes] == ["first", "second", "third"]  # one row per note, inserted once (0091)


async def test_poison_parks_its_incident_and_later_records_wait(pool: Pool) -> None:
    events, log = life(LIFE), Log()
    key = str(events[0].incident_id)
    await apply(pool, log.records([(key, canonical_bytes(events[0])), (key, b'{"type": "incident.noted"}')]))
    await apply(pool, log.records(on_log(events[1:])))
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM dead_letters") == 1
        assert await conn.fetchval("SELECT count(*) FROM parked_incidents WHERE incident_key = $1", key) == 1
        assert await conn.fetchval("SELECT count(*) FROM parked_events") == len(events) - 1
        assert await conn.fetchval("SELECT count(*) FROM incident_events") == 1


async def test_copy_still_refuses_a_verdict_or_an_event_written_twice(pool: Pool) -> None:
    records = Log().records(on_log(life(LIFE[:1])))
    async with pool.acquire() as conn:
        outcome, _ = await store.judge_records(conn, records)
        async with conn.transaction():
            await store.write_judged(conn, outcome)
        with pytest.raises(asyncpg.UniqueViolationError):
            async with conn.transaction():
                await store.write_judged(conn, outcome)
        outcome.verdicts.clear()  # past the verdicts: the events' primary key refuses it too
        with pytest.raises(asyncpg.UniqueViolationError):
            async with conn.transaction():
                await store.write_judged(conn, outcome)
        assert await conn.fetchval("SELECT count(*) FROM incident_events") == 1
