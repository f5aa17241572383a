"""Zero-downtime rebuild: project the log from offset 0 into a new schema beside the live one, catch up with
the live projector, then, under the read-model lock every projector batch takes shared, compare checksums
and swap the projector's tables in one transaction (docs/decisions/0024)."""

import asyncio
import os
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from incidentctl.rebuild_workers import catch_up
from incidents_shared.db import Conn, Pool, create_pool, migrate
from incidents_shared.gc_tuning import tune_for_batches
from incidents_shared.offsets import load_offsets
from incidents_shared.projection import GROUP_ID
from incidents_shared.readside import READ_MODEL_LOCK, SWAP_CHANNEL
from incidents_shared.settings import CommonSettings

log = structlog.get_logger(__name__)
# The projector's tables: what a rebuild replaces. Other services' tables stay where they are.
PROJECTOR_TABLES = (
    "incidents",
    "incident_notes",
    "incident_labels",
    "incident_events",
    "event_verdicts",
    "dead_letters",
    "parked_incidents",
    "parked_events",
    "stream_counter",
    "partition_digests",
)
# Kept live when the checksums agree: the events are the same in every column but `position` (decision 0061).
KEPT_WHEN_EQUAL = ("incident_events", "stream_counter")
CLOSE_ENOUGH = 1_000  # records behind the live projector at which the final, locked catch-up starts

CHECKSUM_SQL = (
    "SELECT (SELECT md5(coalesce(string_agg("
    "concat_ws(':', incident_id, version, revision, last_hash, md5(state::text)),"
    " ',' ORDER BY incident_id), '')) FROM {s}.incidents)"
    " || (SELECT md5(coalesce(string_agg(concat_ws(':', event_id, incident_id, md5(body)), ','"
    " ORDER BY event_id), '')) FROM {s}.incident_notes)"  # notes are rows since 0023 (decision 0091)
    " || (SELECT md5(coalesce(string_agg(concat_ws(':', event_id, verdict, version, revision, hash), ','"
    " ORDER BY event_id), '')) FROM {s}.event_verdicts)"
    # Every column of an event row but its stream position, so that equal checksums let the live rows stay. The
    # event body by PostgreSQL's own 64-bit jsonb hash: md5 over its text took 4.4 s instead of 2.5 s for 1M rows
    # (under the lock); tampering is `incidentctl audit verify`'s business, this catches damage and drift.
    " || (SELECT md5(coalesce(string_agg(concat_ws(':', event_id, incident_id, version, revision, type,"
    " occurred_at, recorded_at, actor_id, jsonb_hash_extended(event, 0), prev_hash, hash, partition,"
    " \"offset\"), ','"
    " ORDER BY event_id), '')) FROM {s}.incident_events)"
)


@dataclass(frozen=True)
class RebuildReport:
    schema: str
    retired: str | None
    records: int
    live_checksum: str
    rebuilt_checksum: str

    @property
    def equal(self) -> bool:
        return self.live_checksum == self.rebuilt_checksum


async def _checksum_beside(pool: Pool, schema: str) -> str:
    """The rebuilt schema's checksum on a connection of its own, while the locked one sums the live schema
    (the rebuilt schema has no other writer; its final catch-up is committed before)."""
    async with pool.acquire() as conn:
        return await checksum(conn, schema)


async def checksum(conn: Conn, schema: str) -> str:
    value: str = await conn.fetchval(CHECKSUM_SQL.format(s=_quoted(schema)))
    return value


def _quoted(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a plain schema name: {name}")
    return f'"{name}"'


async def _swap(conn: Conn, live: str, rebuilt: str, retired: str, keep_events: bool) -> None:
    """Inside the locked transaction: move the projector's tables.

    `keep_events` (the checksums agree): the live `incident_events` and its stream counter stay where they are,
    equal to the rebuilt ones in every column but the stream positions, which stay valid for Last-Event-ID
    (renumbering a million rebuilt positions under the lock took about 25 s); the rebuilt copies are dropped
    with the rebuild schema.
    """
    live_q, new_q, old_q = _quoted(live), _quoted(rebuilt), _quoted(retired)
    await conn.execute(f"CREATE SCHEMA {old_q}")
    for table in PROJECTOR_TABLES:
        if keep_events and table in KEPT_WHEN_EQUAL:
            continue
        await conn.execute(f"ALTER TABLE {live_q}.{table} SET SCHEMA {old_q}")
        await conn.execute(f"ALTER TABLE {new_q}.{table} SET SCHEMA {live_q}")
    await conn.execute(f"DELETE FROM {live_q}.consumer_offsets WHERE group_id = $1", GROUP_ID)
    await conn.execute(
        f"INSERT INTO {live_q}.consumer_offsets SELECT * FROM {new_q}.consumer_offsets WHERE group_id = $1", GROUP_ID
    )
    await conn.execute("SELECT pg_notify($1, $2)", SWAP_CHANNEL, retired)


async def rebuild(
    settings: CommonSettings, *, swap: bool = True, force: bool = False, processes: int | None = None
) -> RebuildReport:
    """Rebuild beside the live read model; swap when the checksums agree (or `force`: a changed definition).

    `processes`: worker processes for a large backlog (default: one per CPU; see `rebuild_workers`).
    """
    workers = processes if processes is not None else os.cpu_count() or 1
    tune_for_batches()
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
    schema, retired = f"rebuild_{stamp}", f"retired_{stamp}"
    live_pool = await create_pool(settings)
    try:
        async with live_pool.acquire() as conn:
            live_schema: str = await conn.fetchval("SELECT current_schema()")
            await conn.execute(f"CREATE SCHEMA {_quoted(schema)}")
        new_pool = await create_pool(settings, server_settings={"search_path": schema})
        try:
            async with new_pool.acquire() as conn:
                await migrate(conn)
            records = await _follow(settings, live_pool, new_pool, schema, workers)
            names = (live_schema, schema, retired)
            report = await _finish(settings, live_pool, new_pool, names, swap, force, records)
        finally:
            await new_pool.close()
        if report.retired is not None:
            async with live_pool.acquire() as conn:
                await conn.execute(f"DROP SCHEMA {_quoted(schema)} CASCADE")  # what is left: other services' copies
        return report
    finally:
        await live_pool.close()


async def _follow(settings: CommonSettings, live_pool: Pool, new_pool: Pool, schema: str, processes: int) -> int:
    """Catch up with the live projector's offsets (they only grow) until it is close behind them."""
    total = 0
    while True:
        async with live_pool.acquire() as conn:
            target = await load_offsets(conn, GROUP_ID, settings.events_topic)
        done = await catch_up(settings, new_pool, schema, target, processes)
        total += done
        log.info("rebuild_caught_up", records=done)
        if done < CLOSE_ENOUGH:
            return total


async def _finish(
    settings: CommonSettings,
    live_pool: Pool,
    new_pool: Pool,
    names: tuple[str, str, str],
    swap: bool,
    force: bool,
    records: int,
) -> RebuildReport:
    live_schema, schema, retired = names
    async with live_pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", READ_MODEL_LOCK)  # no live batch from here on
        target = await load_offsets(conn, GROUP_ID, settings.events_topic)
        records += await catch_up(settings, new_pool, schema, target, processes=1)
        live_sum, new_sum = await asyncio.gather(checksum(conn, live_schema), _checksum_beside(new_pool, schema))
        swapped = swap and (live_sum == new_sum or force)
        if swapped:
            await _swap(conn, live_schema, schema, retired, keep_events=live_sum == new_sum)
    log.info("rebuild_finished", schema=schema, swapped=swapped, live=live_sum, rebuilt=new_sum)
    return RebuildReport(schema, retired if swapped else None, records, live_sum, new_sum)
