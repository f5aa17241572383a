"""Reading a stretch of the log by offsets, outside any consumer group: for rebuilds and releases."""

from collections.abc import AsyncIterator

from aiokafka import AIOKafkaConsumer, TopicPartition

from incidents_shared.consumer import record_of
from incidents_shared.domain.record import Record
from incidents_shared.settings import CommonSettings


async def records_between(
    settings: CommonSettings, start: dict[int, int], end: dict[int, int], *, batch: int = 20_000
) -> AsyncIterator[list[Record]]:
    """Records of the log topic between two offset maps (`start` included, `end` excluded), in batches of up to
    `batch`, in order per partition; partitions missing from `start` begin at 0."""
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
            polled = await consumer.getmany(*(tps[p] for p in open_parts), timeout_ms=1_000, max_records=batch)
            records = [record_of(m) for msgs in polled.values() for m in msgs if m.offset < todo[m.partition][1]]
            for p in list(open_parts):
                if await consumer.position(tps[p]) >= todo[p][1]:
                    open_parts.discard(p)
            if records:
                yield records
    finally:
        await consumer.stop()
