"""The projector's PostgreSQL side: load what a batch needs, write its outcome with the offsets, atomically."""

from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import Any
from uuid import UUID

from incidents_shared.audit import GENESIS_DIGEST, Checkpoint, SigningKey
from incidents_shared.db import Conn
from incidents_shared.domain.record import Record
from incidents_shared.domain.state import Incident
from incidents_shared.domain.walk import decode_records, events_of
from incidents_shared.names import READ_MODEL_LOCK, STREAM_CHANNEL, VERDICT_CHANNEL
from incidents_shared.offsets import first_offsets, store_offsets
from incidents_shared.projection.batch import Known, Outcome, project
from incidents_shared.projection.rows import (
    EVENT_COLUMNS,
    INCIDENT_COLUMNS,
    VERDICT_COLUMNS,
    event_labels,
    event_row,
    incident_row,
    note_text,
    verdict_row,
)

# The state only: notes are rows of incident_notes, inserted once each (decision 0091), so an incident's row
# stays the size of its state however many notes it takes.
_UPSERT_INCIDENT = (
    f"INSERT INTO incidents ({', '.join(INCIDENT_COLUMNS)}) "
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(INCIDENT_COLUMNS) + 1))}) "
    "ON CONFLICT (incident_id) DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in INCIDENT_COLUMNS[1:])
)


async def lock_shared(conn: Conn) -> None:
    """Hold the read-model lock shared for this transaction (a release or a swap takes it exclusively)."""
    await conn.execute("SELECT pg_advisory_xact_lock_shared($1)", READ_MODEL_LOCK)


async def load_known(
    conn: Conn, ids: set[UUID], event_ids: Iterable[UUID], keys: set[str], partitions: Iterable[int] = ()
) -> Known:
    """States, judged ids and parked keys a batch needs, and the digests of its partitions."""
    states = await conn.fetch("SELECT state::text FROM incidents WHERE incident_id = ANY($1::uuid[])", list(ids))
    seen = await conn.fetch("SELECT event_id FROM event_verdicts WHERE event_id = ANY($1::uuid[])", list(event_ids))
    parked = await conn.fetch(
        "SELECT incident_key FROM parked_incidents WHERE incident_key = ANY($1::text[])", list(keys)
    )
    return Known(
        states={(s := Incident.model_validate_json(r["state"])).incident_id: s for r in states},
        seen={r["event_id"] for r in seen},
        parked={r["incident_key"] for r in parked},
        digests=await load_digests(conn, partitions),
    )


# What a batch needs loaded: (incident ids, event ids, incident keys, partitions) -> Known.
LoadKnown = Callable[[set[UUID], set[UUID], set[str], dict[int, int]], Awaitable[Known]]


async def judge_with(load: LoadKnown, records: list[Record]) -> tuple[Outcome, Known]:
    """Decode a polled batch, load what it needs, and judge it; nothing is written yet."""
    batch = decode_records(records)
    events = events_of(batch)
    ids, event_ids = {e.incident_id for e in events}, {e.event_id for e in events}
    known = await load(ids, event_ids, {r.incident_key for r in records}, first_offsets(records))
    return project(batch, known), known


async def judge_records(conn: Conn, records: list[Record]) -> tuple[Outcome, Known]:
    """`judge_with` on this connection (the rebuild's workers and the store's tests)."""
    return await judge_with(partial(load_known, conn), records)


async def write(conn: Conn, outcome: Outcome, group: str, topic: str) -> None:
    """Write a batch's outcome; the caller holds the transaction that also covers the offsets."""
    await store_offsets(conn, group, topic, outcome.next_offsets)
    if outcome.digests:
        await conn.executemany(
            "INSERT INTO partition_digests (partition, digest) VALUES ($1, $2)"
            " ON CONFLICT (partition) DO UPDATE SET digest = EXCLUDED.digest",
            list(outcome.digests.items()),
        )
    await write_judged(conn, outcome)


async def load_digests(conn: Conn, partitions: Iterable[int]) -> dict[int, str]:
    rows = await conn.fetch(
        "SELECT partition, digest FROM partition_digests WHERE partition = ANY($1::int[])", list(partitions)
    )
    return {r["partition"]: r["digest"] for r in rows}


async def write_checkpoints(conn: Conn, key: SigningKey, next_offsets: dict[int, int], digests: dict[int, str]) -> None:
    """Signed checkpoints of where each partition's digest stands, each chained to its partition's previous one
    (call after `write`, same transaction; UNIQUE (partition, seq) refuses a second writer's)."""
    previous = await last_checkpoints(conn, next_offsets)
    signed = [key.sign(p, o, digests.get(p, GENESIS_DIGEST), previous.get(p)) for p, o in next_offsets.items()]
    await conn.executemany(
        "INSERT INTO audit_checkpoints (partition, seq, next_offset, digest, prev_hash, key_id, signature)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [(c.partition, c.seq, c.next_offset, c.digest, c.prev_hash, c.key_id, c.signature) for c in signed],
    )


CHECKPOINT_COLUMNS = "partition, seq, next_offset, digest, prev_hash, key_id, signature"


async def last_checkpoints(conn: Conn, partitions: Iterable[int]) -> dict[int, Checkpoint]:
    rows = await conn.fetch(
        f"SELECT DISTINCT ON (partition) {CHECKPOINT_COLUMNS} FROM audit_checkpoints"
        " WHERE partition = ANY($1::int[]) ORDER BY partition, seq DESC",
        list(partitions),
    )
    return {r["partition"]: Checkpoint(**dict(r)) for r in rows}


async def write_judged(conn: Conn, outcome: Outcome) -> None:
    """Verdicts, events, states, notes and parking; the offsets are the caller's business."""
    if outcome.verdicts:
        # COPY: plain inserts like before (an event id judged twice still violates the primary key), one pass.
        rows = [verdict_row(*row) for row in outcome.verdicts]
        await conn.copy_records_to_table("event_verdicts", records=rows, columns=VERDICT_COLUMNS)
    if outcome.states:
        await conn.executemany(_UPSERT_INCIDENT, incident_rows(outcome))
    if searchable := searchable_notes(outcome):  # each note once, on its own row, never rewritten (0054, 0091)
        await conn.copy_records_to_table("incident_notes", records=searchable, columns=NOTE_COLUMNS)
    if labels := label_rows(outcome):  # what GET /v1/incidents?label= finds (decision 0074)
        await conn.execute(_INSERT_LABELS, *(list(column) for column in zip(*labels, strict=True)))
    await _write_parking(conn, outcome)
    if outcome.events:
        # Last, so the counter row stays locked for as short a time as possible before the commit.
        last = await _take_positions(conn, len(outcome.events))
        first = last - len(outcome.events) + 1
        rows = [event_row(e, v, h, p, o, c, first + i) for i, (e, v, h, p, o, c) in enumerate(outcome.events)]
        await conn.copy_records_to_table("incident_events", records=rows, columns=EVENT_COLUMNS)
        await conn.execute("SELECT pg_notify($1, $2)", STREAM_CHANNEL, str(last))
    if outcome.verdicts:
        await conn.execute(
            "SELECT pg_notify($1, id) FROM unnest($2::text[]) AS id",
            VERDICT_CHANNEL,
            [str(v.event_id) for v in outcome.judged],
        )


async def _take_positions(conn: Conn, count: int) -> int:
    """Reserve `count` stream positions; the row lock held to commit makes position order commit order."""
    last: int = await conn.fetchval(
        "UPDATE stream_counter SET position = position + $1 WHERE id RETURNING position", count
    )
    return last


NOTE_COLUMNS = ["event_id", "incident_id", "body"]
INCIDENT_ROW_COLUMNS = INCIDENT_COLUMNS  # what `incident_rows` gives, in order


def incident_rows(outcome: Outcome) -> list[tuple[Any, ...]]:
    """The batch's incident states, one row each."""
    return [incident_row(s) for s in outcome.states.values()]


def searchable_notes(outcome: Outcome) -> list[tuple[UUID, UUID, str]]:
    """One `incident_notes` row per accepted note of the batch."""
    return [(e.event_id, e.incident_id, text) for e, *_ in outcome.events if (text := note_text(e)) is not None]


_INSERT_LABELS = (
    "INSERT INTO incident_labels (incident_id, name, value)"
    " SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING"
)


def label_rows(outcome: Outcome) -> list[tuple[UUID, str, str]]:
    """The distinct (incident, label name, value) of the batch's accepted events, in one order (no deadlocks)."""
    return sorted({(e.incident_id, name, value) for e, *_ in outcome.events for name, value in event_labels(e)})


async def _write_parking(conn: Conn, outcome: Outcome) -> None:
    if outcome.dead_letters:
        await conn.executemany(
            'INSERT INTO dead_letters (partition, "offset", incident_key, error, value) VALUES ($1, $2, $3, $4, $5)'
            " ON CONFLICT DO NOTHING",
            [(r.partition, r.offset, r.key, error, r.value) for r, error in outcome.dead_letters],
        )
        await conn.executemany(
            'INSERT INTO parked_incidents (incident_key, reason, partition, "offset") VALUES ($1, $2, $3, $4)'
            " ON CONFLICT DO NOTHING",
            [(r.incident_key, error, r.partition, r.offset) for r, error in outcome.dead_letters],
        )
    if outcome.parked_events:
        await conn.executemany(
            'INSERT INTO parked_events (partition, "offset", incident_key, value) VALUES ($1, $2, $3, $4)'
            " ON CONFLICT DO NOTHING",
            [(r.partition, r.offset, r.incident_key, r.value) for r in outcome.parked_events],
        )
