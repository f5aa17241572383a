"""The projector's batch handler: load, judge, write with the offsets, send poison to the dead-letter topic."""

import time
from dataclasses import dataclass

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from prometheus_client import Counter, Histogram

from incidents_shared.domain.record import Record
from incidents_shared.offsets import claim_offsets, first_offsets, load_offsets
from incidents_shared.projection import store

log = structlog.get_logger(__name__)

VERDICTS = Counter("projector_verdicts_total", "Events judged by the projector", ["verdict"])
DEAD_LETTERS = Counter("projector_dead_letters_total", "Poison records sent to the dead-letter topic")
BATCH_SECONDS = Histogram("projector_batch_seconds", "Time to judge and write one polled batch")
RECORDS = Counter("projector_records_total", "Log records projected (rate() gives events per second)")
BATCH_RECORDS = Histogram(
    "projector_batch_records", "Records per polled batch", buckets=(1, 10, 50, 100, 500, 1000, 5000)
)


@dataclass
class AuditCheckpoints:
    """Signed digest checkpoints at most every `every_s` seconds (docs/decisions/0040)."""

    key: bytes
    every_s: float
    last: float = 0.0

    def due(self) -> bool:
        now = time.monotonic()
        if now - self.last < self.every_s:
            return False
        self.last = now
        return True


class ProjectorHandler:
    def __init__(
        self,
        pool: "asyncpg.Pool[asyncpg.Record]",
        producer: AIOKafkaProducer,
        group: str,
        topic: str,
        dlq_topic: str,
        audit: AuditCheckpoints | None = None,
    ) -> None:
        self.pool = pool
        self.producer = producer
        self.group = group
        self.topic = topic
        self.dlq_topic = dlq_topic
        self.audit = audit

    async def load_offsets(self) -> dict[int, int]:
        async with self.pool.acquire() as conn:
            return await load_offsets(conn, self.group, self.topic)

    async def handle(self, records: list[Record]) -> None:
        started = time.perf_counter()
        async with self.pool.acquire() as conn, conn.transaction():
            await store.lock_shared(conn)
            await claim_offsets(conn, self.group, self.topic, first_offsets(records))
            outcome, known = await store.judge_records(conn, records)
            for record, error in outcome.dead_letters:
                await self._dead_letter(record, error)
            await store.write(conn, outcome, self.group, self.topic)
            if self.audit is not None and self.audit.due():
                await store.write_checkpoints(conn, self.audit.key, outcome.next_offsets, known.digests)
        for verdict in outcome.judged:
            VERDICTS.labels(verdict.kind.value).inc()
        RECORDS.inc(len(records))
        BATCH_RECORDS.observe(len(records))
        BATCH_SECONDS.observe(time.perf_counter() - started)

    async def _dead_letter(self, record: Record, error: str) -> None:
        headers = [
            ("error", error[:1000].encode()),
            ("partition", str(record.partition).encode()),
            ("offset", str(record.offset).encode()),
        ]
        key = record.key.encode() if record.key else None
        await self.producer.send_and_wait(self.dlq_topic, record.value, key=key, headers=headers)
        DEAD_LETTERS.inc()
        log.warning(
            "poison_event_parked",
            partition=record.partition,
            offset=record.offset,
            error=error,
            incident_key=record.key,
        )
