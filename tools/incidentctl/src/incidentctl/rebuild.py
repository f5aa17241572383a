"""Zero-downtime rebuild: project the log from offset 0 into a new schema beside the live one, catch up with
the live projector, then, under the read-model lock every projector batch takes shared, compare checksums
and swap the projector's tables in one transaction (docs/decisions/0024)."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition

from incidents_shared.consumer import Record
from incidents_shared.db import Conn, Pool, create_pool, migrate
from incidents_shared.gc_tuning import tune_for_batches
from incidents_shared.offsets import load_offsets
from incidents_shared.readside import READ_MODEL_LOCK, SWAP_CHANNEL
from incidents_shared.settings import CommonSettings
from projector import store
from projector.settings import GROUP_ID

log = structlog.get_logger(__name__)
# The projector's tables: what a rebuild replaces. Other services' tables stay where they are.
PROJECTOR_TABLES = (
    "incidents",
    "incident_notes",
    "incident_events",
    "event_verdicts",
    "dead_letters",
    "parked_incidents",
    "parked_events",
    "stream_counter",
    "partition_digests",
)
POSITION_INDEX = "incident_events_position_idx"  # migrations/0006_read_side.sql
BATCH = 20_000  # the projector's catch-up batch (projector_batch_max)
CLOSE_ENOUGH = 1_000  # records behind the live projector at which the final, locked catch-up starts

CHECKSUM_SQL = (
    "SELECT (SELECT md5(coalesce(string_agg("
    "concat_ws(':', incident_id, version, revision, last_hash, md5(state::text), md5(notes_text)),"
    " ',' ORDER BY incident_id), '')) FROM {s}.incidents)"
    " || (SELECT md5(coalesce(string_agg(concat_ws(':', event_id, verdict, version, revision, hash), ','"
    " ORDER BY event_id), '')) FROM {s}.event_verdicts)"
    " || (SELECT md5(coalesce(string_agg(concat_ws(':', event_id, version, hash), ',' ORDER BY event_id), ''))"
    " FROM {s}.incident_events)"
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


async def _records(settings: CommonSettings, start: dict[int, int], end: dict[int, int]) -> AsyncIterator[list[Record]]:
    """Records of the log between two offset maps, in batches, in order per partition."""
    todo = {p: (start.get(p, 0), e) for p, e in end.items() if start.get(p, 0) < e}
    if not todo:
        return
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = {p: TopicPartition(settings.events_topic, p) for p in todo}
        consumer.assign(list(tps.values()))
        for p, (first, _) in todo.items():
            consumer.seek(tps[p], first)
        open_parts = set(todo)
        while open_parts:
            polled = await consumer.getmany(*(tps[p] for p in open_parts), timeout_ms=1_000, max_records=BATCH)
            batch = [
                Record(m.partition, m.offset, m.key.decode() if m.key else None, m.value or b"")
                for msgs in polled.values()
                for m in msgs
                if m.offset < todo[m.partition][1]
            ]
            for p in list(open_parts):
                if await consumer.position(tps[p]) >= todo[p][1]:
                    open_parts.discard(p)
            if batch:
                yield batch
    finally:
        await consumer.stop()


async def _project(pool: Pool, records: list[Record], topic: str) -> None:
    """One batch into the rebuild schema with the projector's own code (no dead-letter sends: done live)."""
    async with pool.acquire() as conn, conn.transaction():
        outcome, _ = await store.judge_records(conn, records)
        await store.write(conn, outcome, GROUP_ID, topic)


async def _catch_up(settings: CommonSettings, pool: Pool, target: dict[int, int]) -> int:
    async with pool.acquire() as conn:
        start = await load_offsets(conn, GROUP_ID, settings.events_topic)
    count = 0
    async for batch in _records(settings, start, target):
        await _project(pool, batch, settings.events_topic)
        count += len(batch)
    return count


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


async def _swap(conn: Conn, live: str, rebuilt: str, retired: str, keep_positions: bool) -> None:
    """Inside the locked transaction: move the projector's tables; keep stream positions of the same events."""
    live_q, new_q, old_q = _quoted(live), _quoted(rebuilt), _quoted(retired)
    await conn.execute(f"CREATE SCHEMA {old_q}")
    for table in PROJECTOR_TABLES:
        await conn.execute(f"ALTER TABLE {live_q}.{table} SET SCHEMA {old_q}")
        await conn.execute(f"ALTER TABLE {new_q}.{table} SET SCHEMA {live_q}")
    if keep_positions:  # the same events as before: Last-Event-ID stays valid
        # One pass without the unique index (two passes via negative positions rewrote every row twice), then
        # the index as migration 0006 made it; all inside the swap's transaction, so nobody sees it missing.
        await conn.execute(f"DROP INDEX {live_q}.{POSITION_INDEX}")
        await conn.execute(
            f"UPDATE {live_q}.incident_events n SET position = o.position"
            f" FROM {old_q}.incident_events o WHERE n.event_id = o.event_id"
        )
        await conn.execute(f"CREATE UNIQUE INDEX {POSITION_INDEX} ON {live_q}.incident_events (position)")
        await conn.execute(
            f"UPDATE {live_q}.stream_counter SET position = (SELECT position FROM {old_q}.stream_counter)"
        )
    await conn.execute(f"DELETE FROM {live_q}.consumer_offsets WHERE group_id = $1", GROUP_ID)
    await conn.execute(
        f"INSERT INTO {live_q}.consumer_offsets SELECT * FROM {new_q}.consumer_offsets WHERE group_id = $1", GROUP_ID
    )
    await conn.execute("SELECT pg_notify($1, $2)", SWAP_CHANNEL, retired)


async def rebuild(settings: CommonSettings, *, swap: bool = True, force: bool = False) -> RebuildReport:
    """Rebuild beside the live read model; swap when the checksums agree (or `force`: a changed definition)."""
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
            records = await _follow(settings, live_pool, new_pool)
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


async def _follow(settings: CommonSettings, live_pool: Pool, new_pool: Pool) -> int:
    """Catch up with the live projector's offsets (they only grow) until it is close behind them."""
    total = 0
    while True:
        async with live_pool.acquire() as conn:
            target = await load_offsets(conn, GROUP_ID, settings.events_topic)
        done = await _catch_up(settings, new_pool, target)
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
        records += await _catch_up(settings, new_pool, target)
        live_sum, new_sum = await asyncio.gather(checksum(conn, live_schema), _checksum_beside(new_pool, schema))
        swapped = swap and (live_sum == new_sum or force)
        if swapped:
            await _swap(conn, live_schema, schema, retired, keep_positions=live_sum == new_sum)
    log.info("rebuild_finished", schema=schema, swapped=swapped, live=live_sum, rebuilt=new_sum)
    return RebuildReport(schema, retired if swapped else None, records, live_sum, new_sum)
