"""The projector's batch handler: load, judge, write with the offsets, send poison to the dead-letter topic."""

import time
from dataclasses import dataclass

import structlog
from prometheus_client import Counter, Histogram

from incidents_shared.audit import SigningKey
from incidents_shared.domain.record import Record
from incidents_shared.projection.batch import Outcome
from incidents_shared.projection.store import judge_with
from projector.ports import DeadLetters, ReadModel

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
    """Signed, chained digest checkpoints at most every `every_s` seconds (docs/decisions/0040, 0082)."""

    key: SigningKey
    every_s: float
    last: float = 0.0

    def due(self) -> bool:
        now = time.monotonic()
        if now - self.last < self.every_s:
            return False
        self.last = now
        return True


class ProjectorHandler:
    """Judge each polled batch on what the read model knows and write the outcome with the offsets, in one unit
    of work; poison records go to the dead letters first (their keys are parked in the same write)."""

    def __init__(self, read_model: ReadModel, dead_letters: DeadLetters, audit: AuditCheckpoints | None = None):
        self.read_model = read_model
        self.dead_letters = dead_letters
        self.audit = audit

    async def load_offsets(self) -> dict[int, int]:
        return await self.read_model.load_offsets()

    async def handle(self, records: list[Record]) -> None:
        started = time.perf_counter()
        async with self.read_model.batch(records) as uow:
            outcome, known = await judge_with(uow.load_known, records)
            for record, error in outcome.dead_letters:
                await self._dead_letter(record, error)
            await uow.write(outcome)
            if self.audit is not None and self.audit.due():
                await uow.write_checkpoints(self.audit.key, outcome.next_offsets, known.digests)
        for verdict in outcome.judged:
            VERDICTS.labels(verdict.kind.value).inc()
        RECORDS.inc(len(records))
        BATCH_RECORDS.observe(len(records))
        BATCH_SECONDS.observe(time.perf_counter() - started)

    async def park(self, record: Record, error: str) -> None:
        """A record PostgreSQL refuses whatever is retried: poison like an undecodable one (consumer.py)."""
        outcome = Outcome(dead_letters=[(record, error)], next_offsets={record.partition: record.offset + 1})
        async with self.read_model.batch([record]) as uow:
            await self._dead_letter(record, error)
            await uow.write(outcome)

    async def _dead_letter(self, record: Record, error: str) -> None:
        await self.dead_letters.send(record, error)
        DEAD_LETTERS.inc()
        log.warning(
            "poison_event_parked",
            partition=record.partition,
            offset=record.offset,
            error=error,
            incident_key=record.key,
        )
