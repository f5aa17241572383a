"""Reading the incident log straight from Kafka, independently of the read models."""

import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from rich.progress import Progress

from incidents_shared.domain.record import Record
from incidents_shared.kafka import verify_log_topic
from incidents_shared.logrange import records_between
from incidents_shared.settings import CommonSettings

ProgressFn = Callable[[int, int], None]  # (records in the span, records just read)
_PROGRESS: ContextVar[ProgressFn | None] = ContextVar("incidentctl_progress", default=None)


@contextmanager
def log_progress(label: str) -> Iterator[None]:
    """A progress bar on a TTY for every read of the log inside the block (commands wrap asyncio.run in it)."""
    with Progress(transient=True, disable=not sys.stderr.isatty()) as progress:
        task = progress.add_task(label, total=None)
        token = _PROGRESS.set(lambda total, read: progress.update(task, total=total, advance=read))
        try:
            yield
        finally:
            _PROGRESS.reset(token)


@dataclass(frozen=True)
class Span:
    """Where reading starts and stops per partition, and from which offset records are in the asked range.

    Reading always starts at the beginning of the log: the fold needs every earlier event to judge later ones.
    """

    start: dict[int, int]
    end: dict[int, int]
    since: dict[int, int]

    def in_range(self, record: Record) -> bool:
        return record.offset >= self.since[record.partition]

    @property
    def total(self) -> int:
        return sum(max(0, self.end[p] - self.start[p]) for p in self.end)


async def _bounds(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition], since: datetime | None, until: datetime | None
) -> Span:
    begin = await consumer.beginning_offsets(tps)
    ends = await consumer.end_offsets(tps)
    start = {tp.partition: begin[tp] for tp in tps}
    end = {tp.partition: ends[tp] for tp in tps}
    first = dict(start)
    # The broker's time index maps a timestamp to the first offset at or after it.
    for stamp, target in ((since, first), (until, end)):
        if stamp is None:
            continue
        found = await consumer.offsets_for_times({tp: int(stamp.timestamp() * 1000) for tp in tps})
        for tp in tps:
            hit = found.get(tp)
            target[tp.partition] = hit.offset if hit is not None else ends[tp]
    return Span(start, end, first)


async def read_log(
    settings: CommonSettings, since: datetime | None = None, until: datetime | None = None
) -> AsyncIterator[tuple[Span, list[Record]]]:
    """Yield batches of records of the log topic, in order per partition, between two broker times."""
    partitions = await verify_log_topic(settings)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    tps = [TopicPartition(settings.events_topic, p) for p in range(partitions)]
    try:
        span = await _bounds(consumer, tps, since, until)
    finally:
        await consumer.stop()
    async for batch in records_between(settings, span.start, span.end, batch=5_000):
        if (report := _PROGRESS.get()) is not None:
            report(span.total, len(batch))
        yield span, batch
