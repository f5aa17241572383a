"""The escalator's batch handler: fold with the shared verdicts, arm timers, queue notifications, one transaction."""

import asyncpg
import structlog

from escalator import metrics, store
from incidents_shared.domain.escalation.book import PolicyBook
from incidents_shared.domain.escalation.fold import fold_batch
from incidents_shared.domain.record import Record
from incidents_shared.domain.walk import decode_records, events_of
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
        batch = decode_records(records)
        events = events_of(batch)
        async with self.pool.acquire() as conn, conn.transaction():
            await store.lock_shared(conn)
            await claim_offsets(conn, self.group, self.topic, first_offsets(records))
            keys = {r.incident_key for r in records}
            known = await store.load_known(conn, {e.incident_id for e in events}, {e.event_id for e in events}, keys)
            outcome = fold_batch(batch, known, self.book)
            await store.write(conn, outcome, self.group, self.topic)
        for key, (partition, offset) in outcome.parked.items():
            log.warning("poison_record_parked", incident_key=key, partition=partition, offset=offset)
        for delivery in outcome.deliveries:
            if delivery.drill:
                metrics.NOTIFICATIONS.labels("drill").inc()  # kept in the outbox as status 'drill', never sent
        for timer in outcome.arm.values():
            metrics.TIMERS_ARMED.labels(timer.kind.value).inc()
