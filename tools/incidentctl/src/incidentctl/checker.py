"""The invariant checker's I/O: a consistent snapshot of the read model, and the log up to its offsets."""

from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from incidentctl.logreader import read_log
from incidents_shared.db import Conn, create_pool
from incidents_shared.domain.walk import STORE_REFUSED
from incidents_shared.invariants import LogFold, ReadModelSnapshot, compare
from incidents_shared.offsets import load_offsets
from incidents_shared.settings import CommonSettings

PROJECTOR_GROUP = "projector"


@dataclass(frozen=True)
class Report:
    incidents: int
    verdicts: int
    differences: list[str]

    @property
    def ok(self) -> bool:
        return not self.differences


# An incident's notes are rows, one per accepted note (decision 0091): joined in log order (the event's version;
# rows 0011 carried over from notes_text have no event and come first) into what the oracle expects.
_INCIDENTS_SQL = (
    "SELECT i.incident_id, i.version, i.revision, i.last_hash, i.state, coalesce((SELECT string_agg(' ' || n.body,"
    " '' ORDER BY e.version NULLS FIRST) FROM incident_notes n LEFT JOIN incident_events e ON e.event_id = n.event_id"
    " WHERE n.incident_id = i.incident_id), '') AS notes_text FROM incidents i"
)


async def load_snapshot(conn: Conn) -> ReadModelSnapshot:
    """The read model as the checker compares it; call inside one REPEATABLE READ transaction."""
    snap = ReadModelSnapshot()
    for r in await conn.fetch(_INCIDENTS_SQL):
        # The columns must agree with the stored state: a difference in either shows up in the comparison.
        state = {**r["state"], "version": r["version"], "revision": r["revision"], "last_hash": r["last_hash"]}
        snap.states[UUID(str(r["incident_id"]))] = state
        snap.notes[UUID(str(r["incident_id"]))] = r["notes_text"]
    for r in await conn.fetch("SELECT event_id, verdict, version, revision, hash FROM event_verdicts"):
        snap.verdicts[UUID(str(r["event_id"]))] = (r["verdict"], r["version"], r["revision"], r["hash"])
    hashes: dict[UUID, list[str]] = defaultdict(list)
    for r in await conn.fetch("SELECT incident_id, hash FROM incident_events ORDER BY incident_id, version"):
        hashes[UUID(str(r["incident_id"]))].append(r["hash"])
    snap.hashes = dict(hashes)
    snap.parked = {r["incident_key"] for r in await conn.fetch("SELECT incident_key FROM parked_incidents")}
    return snap


async def check(settings: CommonSettings, schema: str | None = None) -> Report:
    """Fold the log up to the offsets stored with the read model and compare; the services may keep running."""
    options: dict[str, Any] = {"server_settings": {"search_path": schema}} if schema else {}
    pool = await create_pool(settings, **options)
    try:
        async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            offsets = await load_offsets(conn, PROJECTOR_GROUP, settings.events_topic)
            actual = await load_snapshot(conn)
            gaps = await stream_gaps(conn)
            refused = await refused_records(conn)
    finally:
        await pool.close()
    fold = LogFold()
    async for _, batch in read_log(settings):
        for record in batch:
            if record.offset < offsets.get(record.partition, 0):
                fold.apply(record, refused.get((record.partition, record.offset)))
    expected = fold.expected()
    return Report(len(expected.states), len(expected.verdicts), compare(expected, actual) + gaps)


async def refused_records(conn: Conn) -> dict[tuple[int, int], str]:
    """The records the projector's store refused (consumer.py): poison for the oracle too, until released."""
    rows = await conn.fetch(
        'SELECT partition, "offset", error FROM dead_letters WHERE released_at IS NULL AND starts_with(error, $1)',
        STORE_REFUSED,
    )
    return {(r["partition"], r["offset"]): r["error"] for r in rows}


async def stream_gaps(conn: Conn) -> list[str]:
    """Stream positions are 1..counter, one per stored event, and rise with each incident's versions."""
    row = await conn.fetchrow(
        "SELECT count(*) AS events, count(DISTINCT position) AS distinct_positions,"
        " coalesce(max(position), 0) AS highest, (SELECT position FROM stream_counter) AS counter"
        " FROM incident_events"
    )
    assert row is not None  # an aggregate always returns a row
    found = []
    if not row["events"] == row["distinct_positions"] == row["highest"] == row["counter"]:
        found.append(f"stream positions: {dict(row)} (expected events = distinct = highest = counter)")
    backwards = await conn.fetchval(
        "SELECT count(*) FROM (SELECT position < lag(position) OVER (PARTITION BY incident_id ORDER BY version)"
        " AS back FROM incident_events) AS t WHERE back"
    )
    if backwards:
        found.append(f"stream positions: {backwards} events have a lower position than their previous version")
    return found
