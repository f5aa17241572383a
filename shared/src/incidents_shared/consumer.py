"""The one consumer-loop shape every reader of the log uses.

Offsets live in PostgreSQL, written in the same transaction as the handler's results; on assignment the
consumer seeks to them. When PostgreSQL fails mid-batch, the loop backs off and re-seeks to the stored
offsets, so nothing is skipped and nothing is applied twice.

A batch PostgreSQL keeps refusing while it is up (a record that decodes but fails in SQL) is not retried forever,
stalling every partition: after a few tries with back-off the loop bisects the batch, applies the halves that
pass, and parks the one record that fails like poison (dead letter, its key parked), then goes on.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition

from incidents_shared.db import DATABASE_DOWN, DATABASE_ERRORS
from incidents_shared.domain.record import Record
from incidents_shared.domain.walk import STORE_REFUSED
from incidents_shared.offsets import OffsetsMoved

log = structlog.get_logger(__name__)
T = TypeVar("T")

RETRY_BACKOFF_S = (0.2, 0.5, 1.0, 2.0, 5.0)
STORE_ERRORS = DATABASE_ERRORS  # defined in incidents_shared.db
# A refusal that outlives these tries is the batch's, not the store's: the loop then isolates the record.
REFUSED_RETRIES_S = (0.5, 2.0, 5.0)


def record_of(message: ConsumerRecord[bytes, bytes]) -> Record:
    """A consumed Kafka message as every reader names it."""
    return Record(
        message.partition, message.offset, message.key.decode() if message.key else None, message.value or b""
    )


class BatchHandler(Protocol):
    """What a log reader provides: its stored offsets and a transactional batch handler."""

    async def load_offsets(self) -> dict[int, int]:
        """next offset per partition, from the store the handler writes to."""

    async def handle(self, records: list[Record]) -> None:
        """Apply the records and store the offsets after them, in one transaction."""

    async def park(self, record: Record, error: str) -> None:
        """Set one record aside as poison (a dead letter, its key parked) and store the offset after it."""


class _SeekToStored(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, loop: "ConsumerLoop") -> None:
        self._loop = loop

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        log.info("partitions_revoked", partitions=sorted(tp.partition for tp in revoked))
        if self._loop.on_assigned is not None:  # owns nothing until the new assignment (eager rebalancing)
            await self._loop.on_assigned([])

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self._loop.seek_to_stored(assigned)
        if self._loop.on_assigned is not None:
            await self._loop.on_assigned(sorted(tp.partition for tp in assigned))


class ConsumerLoop:
    """Poll in batches, hand each poll to the handler, stop in `finally`."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        topic: str,
        handler: BatchHandler,
        *,
        max_records: int,
        poll_ms: int,
        on_assigned: Callable[[list[int]], Awaitable[None]] | None = None,
    ) -> None:
        self.consumer = consumer
        self.topic = topic
        self.handler = handler
        self.max_records = max_records
        self.poll_ms = poll_ms
        self.on_assigned = on_assigned

    async def seek_to_stored(self, partitions: list[TopicPartition]) -> None:
        offsets = await self._with_retry(self.handler.load_offsets)
        for tp in partitions:
            self.consumer.seek(tp, offsets.get(tp.partition, 0))
        log.info("partitions_assigned", partitions={tp.partition: offsets.get(tp.partition, 0) for tp in partitions})

    async def run(self, stop: asyncio.Event) -> None:
        self.consumer.subscribe([self.topic], listener=_SeekToStored(self))
        await self.consumer.start()
        try:
            while not stop.is_set():
                polled = await self.consumer.getmany(timeout_ms=self.poll_ms, max_records=self.max_records)
                records = [record_of(m) for msgs in polled.values() for m in msgs]
                if records:
                    await self._handle(records)
        finally:
            await self.consumer.stop()

    async def _handle(self, records: list[Record]) -> None:
        try:
            await self._handle_refused_or_not(records)
        except OffsetsMoved as exc:
            log.warning("offsets_moved_reseeking", moved=exc.moved, records=len(records))
            await self.seek_to_stored(list(self.consumer.assignment()))
        except DATABASE_DOWN as exc:
            log.warning("batch_failed_will_retry", error=repr(exc), records=len(records))
            await asyncio.sleep(RETRY_BACKOFF_S[0])
            await self.seek_to_stored(list(self.consumer.assignment()))

    async def _handle_refused_or_not(self, records: list[Record]) -> None:
        for attempt, delay in enumerate((*REFUSED_RETRIES_S, None)):
            try:
                await self.handler.handle(records)
                return
            except DATABASE_DOWN:
                raise
            except asyncpg.PostgresError as exc:
                if delay is None:
                    log.error("batch_refused_isolating", error=repr(exc), records=len(records), attempts=attempt + 1)
                    await self._isolate(records, exc)
                    return
                log.warning("batch_refused_will_retry", error=repr(exc), records=len(records), retry_in_s=delay)
                await asyncio.sleep(delay)

    async def _isolate(self, records: list[Record], error: BaseException) -> None:
        """Apply what passes, in order, and park the records PostgreSQL refuses: halves of the batch (a prefix of
        the list holds a prefix of each partition's records, so the stored offsets stay contiguous)."""
        if len(records) == 1:
            [record] = records
            log.error(
                "record_refused_by_store_parked",
                partition=record.partition,
                offset=record.offset,
                incident_key=record.key,
                error=repr(error),
            )
            await self.handler.park(record, f"{STORE_REFUSED}: {error!r}"[:1000])
            return
        middle = len(records) // 2
        for half in (records[:middle], records[middle:]):
            try:
                await self.handler.handle(half)
            except DATABASE_DOWN:
                raise
            except asyncpg.PostgresError as exc:
                await self._isolate(half, exc)

    async def _with_retry(self, action: Callable[[], Awaitable[T]]) -> T:
        attempt = 0
        while True:
            try:
                return await action()
            except STORE_ERRORS as exc:
                delay = RETRY_BACKOFF_S[min(attempt, len(RETRY_BACKOFF_S) - 1)]
                log.warning("store_unavailable", error=repr(exc), retry_in_s=delay)
                attempt += 1
                await asyncio.sleep(delay)
