"""Appending events to the log: idempotent acks=all producer, keyed by incident, bounded in time.

Shared by every writer (command API, escalator); the metric names keep their original `api_` prefix.
"""

import asyncio
import contextlib
import time
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidProducerEpoch,
    KafkaError,
    KafkaTimeoutError,
    OutOfOrderSequenceNumber,
    ProducerFenced,
    UnknownProducerId,
)
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder
from prometheus_client import Counter, Histogram

from incidents_shared.domain.codec import canonical_bytes, headers_for
from incidents_shared.domain.events import EventBase
from incidents_shared.inflight import InFlight, StillInDoubt
from incidents_shared.kafka import make_producer
from incidents_shared.settings import CommonSettings

log = structlog.get_logger(__name__)
EVENTS_APPENDED = Counter("api_events_appended_total", "Events appended to the log", ["type"])
APPEND_SECONDS = Histogram("api_append_seconds", "Time for the log to acknowledge an append")


FATAL_PRODUCER_ERRORS = (OutOfOrderSequenceNumber, UnknownProducerId, InvalidProducerEpoch, ProducerFenced)


class LogUnavailable(Exception):
    """The log did not acknowledge in time; nothing may be reported as done."""


class LazyProducer:
    """One idempotent acks=all producer, started on first use within `timeout_s`, dropped after a fatal
    idempotence error (e.g. the broker lost the producer's sequence state in a restart: it never recovers by
    itself) so the next use starts a new one. Event ids are deterministic, so whatever the old producer may still
    have written is judged a duplicate. Shared by the incident log's and the directory's appenders."""

    def __init__(self, settings: CommonSettings, timeout_s: float) -> None:
        self._settings, self._timeout_s = settings, timeout_s
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        try:
            await self.get()
        except LogUnavailable:
            log.warning("kafka_unavailable_at_start", bootstrap=self._settings.kafka_bootstrap)

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    async def get(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                timeout_ms = int(self._timeout_s * 1000)
                producer = make_producer(self._settings, request_timeout_ms=timeout_ms)
                try:
                    await asyncio.wait_for(producer.start(), self._timeout_s)
                except (KafkaError, OSError, TimeoutError) as exc:
                    await producer.stop()
                    raise LogUnavailable(f"Kafka unreachable: {exc!r}") from exc
                self._producer = producer
            return self._producer

    async def failed(self, exc: BaseException) -> None:
        """After an error: drop the producer if the error is one it cannot recover from."""
        if isinstance(exc, FATAL_PRODUCER_ERRORS):
            async with self._lock:
                producer, self._producer = self._producer, None
            if producer is not None:
                log.warning("producer_replaced", error=repr(exc))
                with contextlib.suppress(KafkaError, OSError, TimeoutError):
                    await producer.stop()


class KafkaAppender:
    def __init__(self, settings: CommonSettings, timeout_s: float) -> None:
        self._settings = settings
        self._timeout_s = timeout_s
        self._lazy = LazyProducer(settings, timeout_s)
        self._inflight = InFlight()

    async def start(self) -> None:
        await self._lazy.start()

    async def stop(self) -> None:
        await self._lazy.stop()

    async def _ensure_producer(self) -> AIOKafkaProducer:
        return await self._lazy.get()

    async def append(self, events: list[EventBase]) -> None:
        """Append the events of one command, in order, all to the incident's partition. Events whose earlier send
        landed are left out; one whose earlier send is still in doubt is waited for, never sent twice
        (inflight.py)."""
        if len({event.incident_id for event in events}) > 1:
            raise ValueError("one append carries the events of one incident (they share a record batch)")
        try:
            wanted = set(await self._inflight.still_to_send([e.event_id for e in events], self._timeout_s))
        except StillInDoubt as exc:
            raise LogUnavailable("an earlier send of these events is not acknowledged yet") from exc
        events = [e for e in events if e.event_id in wanted]
        if not events:
            return
        keys = [e.event_id for e in events]
        started = time.perf_counter()
        producer = await self._ensure_producer()
        try:
            sent = await (
                self._send_batch(producer, events) if len(events) > 1 else self._send_one(producer, events[0])
            )
        except (KafkaError, OSError, TimeoutError) as exc:
            await self._failed(exc, len(events))
            raise LogUnavailable(f"the log did not take the events: {exc!r}") from exc
        try:
            await asyncio.wait_for(asyncio.shield(sent), self._timeout_s)
        except TimeoutError as exc:
            self._inflight.watch(keys, sent)  # it may still land: a retry must not send it again
            await self._failed(exc, len(events))
            raise LogUnavailable(f"the log did not acknowledge in time: {exc!r}") from exc
        except (KafkaError, OSError) as exc:
            await self._failed(exc, len(events))
            raise LogUnavailable(f"the log did not acknowledge: {exc!r}") from exc
        self._inflight.remember_all(keys)
        self._appended(events, started)

    async def _send_one(self, producer: AIOKafkaProducer, event: EventBase) -> "asyncio.Future[Any]":
        future: asyncio.Future[Any] = await producer.send(
            self._settings.events_topic,
            canonical_bytes(event),
            key=str(event.incident_id).encode(),
            headers=headers_for(event),
        )
        return future

    async def _failed(self, exc: BaseException, events: int) -> None:
        log.warning("append_failed", error=repr(exc), events=events)
        await self._lazy.failed(exc)

    def _appended(self, events: list[EventBase], started: float) -> None:
        APPEND_SECONDS.observe(time.perf_counter() - started)
        for event in events:
            EVENTS_APPENDED.labels(event.model_dump(include={"type"})["type"]).inc()

    @staticmethod
    async def partition_for(producer: AIOKafkaProducer, topic: str, key: bytes) -> int:
        """The partition a keyed send would choose: the producer's default partitioner over the topic's partitions."""
        partitions = sorted(await producer.partitions_for(topic))
        partition: int = DefaultPartitioner()(key, partitions, partitions)
        return partition

    async def _enqueue(self, producer: AIOKafkaProducer, batch: BatchBuilder, partition: int) -> "asyncio.Future[Any]":
        """Queue the batch; while other batches wait for the same partition aiokafka may time out before queueing
        (nothing was sent then, so trying again is safe) until our own deadline."""
        deadline = time.monotonic() + self._timeout_s
        while True:
            try:
                future: asyncio.Future[Any] = await producer.send_batch(
                    batch, self._settings.events_topic, partition=partition
                )
                return future
            except KafkaTimeoutError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.005)

    async def _send_batch(self, producer: AIOKafkaProducer, events: list[EventBase]) -> "asyncio.Future[Any]":
        """Several events of one command: one record batch, so the log holds all of them or none (decision 0004)."""
        key = str(events[0].incident_id).encode()
        partition = await self.partition_for(producer, self._settings.events_topic, key)
        batch = producer.create_batch()
        for event in events:
            if batch.append(key=key, value=canonical_bytes(event), timestamp=None, headers=headers_for(event)) is None:
                raise LogUnavailable(f"{len(events)} events do not fit one record batch")
        return await self._enqueue(producer, batch, partition)
