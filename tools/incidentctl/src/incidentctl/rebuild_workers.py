"""Projecting the log into the rebuild schema: in this process, or split by partition over several processes.

A rebuild projects the whole log with the projector's own code, which is CPU-bound Python; one process keeps one
core busy while PostgreSQL waits, so a large backlog is split by partition over worker processes (each its own
consumer, pool and event loop; partitions never share an incident, so the workers never touch the same rows).
Small remainders (the repeated catch-ups, the final one under the lock) stay in this process: starting a worker
costs about a second (docs/decisions/0061).
"""

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from incidents_shared.db import Pool, create_pool
from incidents_shared.domain.codec import UPCASTERS, Upcaster
from incidents_shared.domain.record import Record
from incidents_shared.gc_tuning import tune_for_batches
from incidents_shared.logrange import records_between
from incidents_shared.offsets import load_offsets
from incidents_shared.projection import GROUP_ID, store
from incidents_shared.settings import CommonSettings

BATCH = 20_000  # the projector's catch-up batch (projector_batch_max)
PARALLEL_FROM = 100_000  # records behind at which worker processes pay for their start-up


def split(offsets: dict[int, int], parts: int) -> list[dict[int, int]]:
    """Partitions dealt round-robin into at most `parts` non-empty groups."""
    ordered = sorted(offsets)
    groups = [{p: offsets[p] for p in ordered[i::parts]} for i in range(max(parts, 1))]
    return [g for g in groups if g]


async def catch_up(settings: CommonSettings, pool: Pool, schema: str, target: dict[int, int], processes: int) -> int:
    """Project the records between the rebuild schema's stored offsets and `target`; how many there were."""
    async with pool.acquire() as conn:
        start = await load_offsets(conn, GROUP_ID, settings.events_topic)
    behind = sum(max(0, end - start.get(p, 0)) for p, end in target.items())
    if processes > 1 and behind >= PARALLEL_FROM:
        return await _in_processes(settings, schema, start, target, processes)
    return await _project_range(settings, pool, start, target)


async def _in_processes(
    settings: CommonSettings, schema: str, start: dict[int, int], target: dict[int, int], processes: int
) -> int:
    groups = split(target, processes)
    loop = asyncio.get_running_loop()
    # Workers judge with this process's decoders: the upcasters it has registered, which a fresh interpreter
    # would only have if they are registered on import (decision 0061).
    upcasters = dict(UPCASTERS)
    # spawn, not fork: a forked child would inherit this process's event loop, pools and Kafka sockets.
    with ProcessPoolExecutor(len(groups), mp_context=multiprocessing.get_context("spawn")) as pool:
        counts = await asyncio.gather(
            *(
                loop.run_in_executor(pool, project_in_worker, settings, schema, start, group, upcasters)
                for group in groups
            )
        )
    return sum(counts)


def project_in_worker(
    settings: CommonSettings,
    schema: str,
    start: dict[int, int],
    end: dict[int, int],
    upcasters: dict[tuple[str, int], Upcaster],
) -> int:
    """A worker process's whole life: its own event loop, pool and consumer, for its partitions only."""
    UPCASTERS.update(upcasters)
    return asyncio.run(_worker(settings, schema, start, end))


async def _worker(settings: CommonSettings, schema: str, start: dict[int, int], end: dict[int, int]) -> int:
    tune_for_batches()
    pool = await create_pool(settings, server_settings={"search_path": schema})
    try:
        return await _project_range(settings, pool, start, end)
    finally:
        await pool.close()


async def _project_range(settings: CommonSettings, pool: Pool, start: dict[int, int], end: dict[int, int]) -> int:
    count = 0
    async for batch in records_between(settings, start, end, batch=BATCH):
        await project(pool, batch, settings.events_topic)
        count += len(batch)
    return count


async def project(pool: Pool, records: list[Record], topic: str) -> None:
    """One batch into the rebuild schema with the projector's own code (no dead-letter sends: done live)."""
    async with pool.acquire() as conn, conn.transaction():
        outcome, _ = await store.judge_records(conn, records)
        await store.write(conn, outcome, GROUP_ID, topic)
