"""Appending events to the log: idempotent acks=all producer, keyed by incident, bounded in time.

Shared by every writer (command API, escalator); the metric names keep their original `api_` prefix.
"""

import asyncio
import time

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from prometheus_client import Counter, Histogram

from incidents_shared.domain.codec import canonical_bytes, headers_for
from incidents_shared.domain.events import EventBase
from incidents_shared.kafka import make_producer
from incidents_shared.settings import CommonSettings

log = structlog.get_logger(__name__)
EVENTS_APPENDED = Counter("api_events_appended_total", "Events appended to the log", ["type"])
APPEND_SECONDS = Histogram("api_append_seconds", "Time for the log to acknowledge an append")


class LogUnavailable(Exception):
    """The log did not acknowledge in time; nothing may be reported as done."""


class KafkaAppender:
    def __init__(self, settings: CommonSettings, timeout_s: float) -> None:
        self._settings = settings
        self._timeout_s = timeout_s
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        try:
            await self._ensure_producer()
        except LogUnavailable:
            log.warning("kafka_unavailable_at_start", bootstrap=self._settings.kafka_bootstrap)

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    async def _ensure_producer(self) -> AIOKafkaProducer:
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

    async def append(self, events: list[EventBase]) -> None:
        """Append the events of one command, in order, all to the incident's partition."""
        started = time.perf_counter()
        producer = await self._ensure_producer()
        try:
            futures = [
                await producer.send(
                    self._settings.events_topic,
                    canonical_bytes(event),
                    key=str(event.incident_id).encode(),
                    headers=headers_for(event),
                )
                for event in events
            ]
            await asyncio.wait_for(asyncio.gather(*futures), self._timeout_s)
        except (KafkaError, OSError, TimeoutError) as exc:
            log.warning("append_failed", error=repr(exc), events=len(events))
            raise LogUnavailable(f"the log did not acknowledge: {exc!r}") from exc
        APPEND_SECONDS.observe(time.perf_counter() - started)
        for event in events:
            EVENTS_APPENDED.labels(event.model_dump(include={"type"})["type"]).inc()
