"""The escalator's batch handler: fold with the shared verdicts, arm timers, queue notifications, one transaction."""

import asyncpg
import structlog

from escalator import metrics, store
from escalator.batch import decode_batch, fold_batch
from escalator.policies import PolicyBook
from incidents_shared.consumer import Record
from incidents_shared.offsets import claim_offsets, first_offsets, load_offsets

log = structlog.get_logger(__name__)


class EscalatorHandler:
    def __init__(self, pool: "asyncpg.Pool[asyncpg.Record]", group: str, topic: str, book: PolicyBook) -> None:
        self.pool = pool
        self.group = group
        self.topic = topic
        self.book = book

    async def load_offsets(self) -> dict[int, int]:
        async with self.pool.acquire() as conn:
            return await load_offsets(conn, self.group, self.topic)

    async def handle(self, records: list[Record]) -> None:
        batch = decode_batch(records)
        events = [event for _, event in batch if event is not None]
        async with self.pool.acquire() as conn, conn.transaction():
            await store.lock_shared(conn)
            await claim_offsets(conn, self.group, self.topic, first_offsets(records))
            keys = {r.key or f"{r.partition}:{r.offset}" for r in records}
            known = await store.load_known(conn, {e.incident_id for e in events}, {e.event_id for e in events}, keys)
            outcome = fold_batch(batch, known, self.book)
            await store.write(conn, outcome, self.group, self.topic)
        for timer in outcome.arm.values():
            metrics.TIMERS_ARMED.labels(timer.kind.value).inc()
