"""The escalator's batch handler: fold with the shared verdicts, arm timers, queue notifications, one transaction."""

import structlog

from escalator import metrics
from escalator.ports import FoldStore, PeopleNow
from incidents_shared.domain.escalation.book import PolicyBook
from incidents_shared.domain.escalation.fold import Outcome, fold_batch
from incidents_shared.domain.record import Record
from incidents_shared.domain.walk import decode_records, events_of

log = structlog.get_logger(__name__)


class EscalatorHandler:
    """Fold each polled batch on what the escalator knows and write the outcome with the offsets, in one unit of
    work: states, timers armed and cancelled, deliveries queued (a drill's kept as 'drill', never sent)."""

    def __init__(self, fold: FoldStore, book: PolicyBook, people: PeopleNow) -> None:
        self.fold = fold
        self.book = book
        self.people = people

    async def load_offsets(self) -> dict[int, int]:
        return await self.fold.load_offsets()

    async def park(self, record: Record, error: str) -> None:
        """A record PostgreSQL refuses whatever is retried: its key parked like poison's (consumer.py)."""
        outcome = Outcome(next_offsets={record.partition: record.offset + 1})
        if record.key is not None:
            outcome.parked[record.key] = (record.partition, record.offset)
        async with self.fold.batch([record]) as uow:
            await uow.write(outcome)
        log.warning("record_refused_parked", incident_key=record.key, error=error)

    async def handle(self, records: list[Record]) -> None:
        batch = decode_records(records)
        events = events_of(batch)
        async with self.fold.batch(records) as uow:
            keys = {r.incident_key for r in records}
            known = await uow.load_known({e.incident_id for e in events}, {e.event_id for e in events}, keys)
            outcome = fold_batch(batch, known, self.book, self.people())
            await uow.write(outcome)
        for key, (partition, offset) in outcome.parked.items():
            log.warning("poison_record_parked", incident_key=key, partition=partition, offset=offset)
        for delivery in outcome.deliveries:
            if delivery.drill:
                metrics.NOTIFICATIONS.labels("drill").inc()  # kept in the outbox as status 'drill', never sent
        for timer in outcome.arm.values():
            metrics.TIMERS_ARMED.labels(timer.kind.value).inc()
