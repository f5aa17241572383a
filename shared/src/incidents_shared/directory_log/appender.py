"""Appending directory events to their topic: idempotent acks=all producer, one partition, bounded in time."""

import asyncio

import structlog
from aiokafka.errors import KafkaError

from incidents_shared.appender import LazyProducer, LogUnavailable
from incidents_shared.domain.codec import CONTENT_TYPE, canonical_json
from incidents_shared.domain.directory import AnyDirectoryEvent
from incidents_shared.domain.directory.events import subject
from incidents_shared.settings import CommonSettings

log = structlog.get_logger(__name__)


def record_key(event: AnyDirectoryEvent) -> bytes:
    """`<kind>:<id>` of the resource the event changes (e.g. `user:ann`), so a compacted snapshot stays possible."""
    return f"{event.kind}:{subject(event)}".encode()


def record_headers(event: AnyDirectoryEvent) -> list[tuple[str, bytes]]:
    """The headers of the incident topic: readers can route a record without decoding it."""
    return [
        ("type", event.type.encode()),
        ("schema_version", str(event.schema_version).encode()),
        ("content-type", CONTENT_TYPE.encode()),
    ]


def record_value(event: AnyDirectoryEvent) -> bytes:
    """The event's canonical JSON (sorted keys, no whitespace)."""
    return canonical_json(event.model_dump(mode="json"))


class DirectoryAppender:
    """Appends directory events; `append` returns the record's offset once every in-sync replica has it."""

    def __init__(self, settings: CommonSettings, timeout_s: float) -> None:
        self._settings, self._timeout_s = settings, timeout_s
        self._lazy = LazyProducer(settings, timeout_s)

    async def start(self) -> None:
        await self._lazy.start()

    async def stop(self) -> None:
        await self._lazy.stop()

    async def append(self, event: AnyDirectoryEvent) -> int:
        """Append one event; its offset, or LogUnavailable when the log did not acknowledge in time."""
        producer = await self._lazy.get()
        try:
            sent = await producer.send(
                self._settings.directory_topic,
                record_value(event),
                key=record_key(event),
                headers=record_headers(event),
                partition=0,
            )
            metadata = await asyncio.wait_for(sent, self._timeout_s)
        except (KafkaError, OSError, TimeoutError) as exc:
            log.warning("directory_append_failed", error=repr(exc))
            await self._lazy.failed(exc)
            raise LogUnavailable(f"the directory log did not acknowledge: {exc!r}") from exc
        offset: int = metadata.offset
        log.info("directory_event_appended", type=event.type, event_id=str(event.event_id), offset=offset)
        return offset
