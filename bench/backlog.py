"""A backlog of realistic events on the log, and the projector's catch-up over it."""

import asyncio
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from bench.kafka_raw import ACTOR, WINDOW
from incidents_shared.db import JsonText, init_connection
from incidents_shared.domain import commands as c
from incidents_shared.domain.codec import canonical_bytes
from incidents_shared.domain.decide import decide
from incidents_shared.domain.fold import advance
from incidents_shared.domain.record import Record
from incidents_shared.domain.walk import decode_records
from incidents_shared.projection import store
from incidents_shared.projection.batch import Known, project
from incidents_shared.projection.rows import EVENT_COLUMNS, VERDICT_COLUMNS, event_row, verdict_row

LIFE: list[c.Command] = [
    c.LogIncident(title="Disk full on db-7", service="billing", impact="medium", urgency="high"),
    c.Categorize(category="database", subcategory="capacity"),
    c.Assign(team="dba", assignee="carol"),
    c.Acknowledge(),
    c.StartInvestigation(),
    *[c.AddNote(kind="note", text=f"step {i}: cleaning old WAL segments") for i in range(4)],
    c.Resolve(summary="WAL archived, 40% free"),
]


def incident_events(start: datetime) -> list[tuple[bytes, bytes]]:
    """One incident's life as (key, value) records, decided and folded like the API would."""
    incident_id, state = uuid.uuid4(), None
    records = []
    for n, command in enumerate(LIFE):
        meta = c.CommandMeta(
            incident_id=incident_id,
            command_id=uuid.uuid4(),
            actor=ACTOR,
            now=start + timedelta(seconds=n),
            correlation_id="bench",
        )
        for event in decide(state, command, meta):
            state = advance(state, event)
            records.append((str(incident_id).encode(), canonical_bytes(event)))
    return records


async def produce(bootstrap: str, topic: str, events: int) -> int:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5, max_batch_size=512 * 1024
    )
    await producer.start()
    sent, start = 0, datetime.now(UTC)
    try:
        while sent < events:
            chunk = [r for _ in range(WINDOW // len(LIFE)) for r in incident_events(start)]
            futures = [await producer.send(topic, value, key=key) for key, value in chunk]
            await asyncio.gather(*futures)
            sent += len(chunk)
    finally:
        await producer.stop()
    return sent


async def wait_caught_up(database_url: str, total: int, timeout_s: float) -> float:
    """Seconds until the projector's stored offsets cover `total` records."""
    conn = await asyncpg.connect(database_url)
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < timeout_s:
            done = await conn.fetchval(
                "SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets WHERE group_id = 'projector'"
            )
            if done >= total:
                return time.perf_counter() - started
            await asyncio.sleep(0.2)
        raise TimeoutError(f"projector did not catch up with {total} events in {timeout_s}s")
    finally:
        await conn.close()


COPY_COLUMNS = list(EVENT_COLUMNS)  # the projector's own incident_events columns


Tables = dict[str, tuple[Sequence[str], list[tuple[Any, ...]]]]  # table -> (columns, rows)


async def copy_ceiling(database_url: str, rows: int) -> float:
    """Rows per second for asyncpg copy_records_to_table of incident_events-shaped rows, into a scratch table
    like incident_events (its indexes, and WAL-logged like it: a temporary table would skip the WAL, which the
    projector cannot)."""
    event = JsonText(incident_events(datetime.now(UTC))[0][1].decode())  # as the projector writes it
    now = datetime.now(UTC)
    records = [
        (uuid.uuid4(), uuid.uuid4(), 1, 1, "incident.logged", now, now, "bench", event, "0" * 64, "f" * 64, 0, n, n)
        for n in range(rows)
    ]
    return rows / await _timed_copy(database_url, {"incident_events": (COPY_COLUMNS, records)})


async def copy_ceiling_all_rows(database_url: str, events: int) -> float:
    """Events per second whose every row the projector writes (event, verdict, searchable note, incident state)
    raw COPY gets into scratch tables like the projector's: the write side alone, nothing judged or upserted.

    The rows are the projector's own (`incidents_shared.projection.batch.project` over the backlog's
    records, then its row builders); only the four `copy_records_to_table` calls and their commit are timed."""
    start = datetime.now(UTC)
    values = [kv for _ in range(max(1, events // len(LIFE))) for kv in incident_events(start)]
    outcome = project(
        decode_records([Record(n % 12, n, key.decode(), value) for n, (key, value) in enumerate(values)]),
        Known({}, set(), set()),
    )
    tables: Tables = {
        "incident_events": (
            EVENT_COLUMNS,
            [event_row(e, v, h, p, o, c, n) for n, (e, v, h, p, o, c) in enumerate(outcome.events)],
        ),
        "event_verdicts": (VERDICT_COLUMNS, [verdict_row(*row) for row in outcome.verdicts]),
        "incident_notes": (store.NOTE_COLUMNS, list(store.searchable_notes(outcome))),
        "incidents": (store.INCIDENT_ROW_COLUMNS, store.incident_rows(outcome)),
    }
    return len(values) / await _timed_copy(database_url, tables)


async def _timed_copy(database_url: str, tables: Tables) -> float:
    """Seconds to COPY the rows into scratch tables like the named ones (indexes included), in one transaction
    with the projector's codecs; the scratch tables are dropped afterwards."""
    conn = await asyncpg.connect(database_url)
    await init_connection(conn)  # binary jsonb: JsonText goes in as is, like the projector's rows
    try:
        for table in tables:
            await conn.execute(f"CREATE TABLE bench_copy_{table} (LIKE {table} INCLUDING ALL)")
        started = time.perf_counter()
        async with conn.transaction():
            for table, (columns, rows) in tables.items():
                await conn.copy_records_to_table(f"bench_copy_{table}", records=rows, columns=list(columns))
        return time.perf_counter() - started
    finally:
        for table in tables:
            await conn.execute(f"DROP TABLE IF EXISTS bench_copy_{table}")
        await conn.close()
