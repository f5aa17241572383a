"""`DirectoryLog`: the directory topic tailed from offset 0 into memory, judged record by record.

The directory is small (people and rotas, not alerts), so each reader keeps all of it: the command API answers its
reads and decides its writes on it, the escalator pages from it. No consumer group: each reader assigns itself
the topic's one partition and reads it all, from the start, on every start.
"""

import asyncio
import contextlib
from datetime import datetime
from uuid import UUID

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from incidents_shared.directory_log.judge import DirectoryFold, DirectoryVerdict
from incidents_shared.domain.directory import DirectoryState
from incidents_shared.kafka import TopicMissing, verify_log_topic
from incidents_shared.settings import CommonSettings
from incidents_shared.supervise import pause

log = structlog.get_logger(__name__)
RECONNECT_S = 1.0
POLL_MS = 500
MAX_RECORDS = 1_000
RETRIED = (KafkaError, OSError, TimeoutError, TopicMissing)


class DirectoryLog:
    """The directory as folded from its topic so far; `run` keeps it current.

    Run it as `Worker(name, directory.run, restart=True)`; `await ready(...)` before answering from it.
    """

    def __init__(self, settings: CommonSettings, client_id: str) -> None:
        self._settings, self._client_id = settings, client_id
        self._topic = settings.directory_topic
        self._fold = DirectoryFold()
        self._progress = asyncio.Condition()
        self._ready = asyncio.Event()
        self._start_end: int | None = None  # the topic's end offset when this reader first connected

    @property
    def state(self) -> DirectoryState:
        """The directory after every record folded so far."""
        return self._fold.state

    @property
    def next_offset(self) -> int:
        """The offset of the next record to fold (every record before it is folded)."""
        return self._fold.next_offset

    def as_of(self, at: datetime) -> DirectoryState:
        """The directory as it stood at `at` (aware), from the accepted events folded so far."""
        return self._fold.as_of(at)

    def verdict(self, event_id: UUID) -> DirectoryVerdict | None:
        """The log's verdict on an event, None while no record of it has been folded."""
        return self._fold.verdicts.get(event_id)

    @property
    def is_ready(self) -> bool:
        """Whether the records the topic held when this reader started are folded (answers are whole)."""
        return self._ready.is_set()

    async def ready(self, timeout_s: float) -> None:
        """Return once the records the topic held when this reader started are folded; TimeoutError if not in time."""
        await asyncio.wait_for(self._ready.wait(), timeout_s)

    async def wait_for(self, offset: int, timeout_s: float) -> bool:
        """Wait until the record at `offset` is folded: True, or False when `timeout_s` passed first."""
        async with self._progress:
            try:
                await asyncio.wait_for(self._progress.wait_for(lambda: self._fold.next_offset > offset), timeout_s)
            except TimeoutError:
                return False
        return True

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Tail the topic until `stop` is set (forever without one), reconnecting after broker errors."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                await self._tail(stop)
            except RETRIED as exc:
                log.warning("directory_log_reconnecting", client_id=self._client_id, error=repr(exc))
                await pause(stop, RECONNECT_S)

    async def _tail(self, stop: asyncio.Event) -> None:
        await verify_log_topic(self._settings, self._topic)  # refuses a topic that would compact or delete
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._settings.kafka_bootstrap,
            client_id=self._client_id,
            group_id=None,
            enable_auto_commit=False,
            fetch_max_wait_ms=self._settings.consumer_fetch_max_wait_ms,
        )
        await consumer.start()
        try:
            partition = TopicPartition(self._topic, 0)
            consumer.assign([partition])
            if self._start_end is None:
                self._start_end = (await consumer.end_offsets([partition]))[partition]
                log.info("directory_log_started", client_id=self._client_id, records=self._start_end)
            consumer.seek(partition, self._fold.next_offset)
            await self._notify()
            while not stop.is_set():
                polled = await consumer.getmany(partition, timeout_ms=POLL_MS, max_records=MAX_RECORDS)
                for message in polled.get(partition, []):
                    self._fold.apply(message.offset, message.value or b"")
                if polled:
                    await self._notify()
        finally:
            await consumer.stop()

    async def _notify(self) -> None:
        if self._start_end is not None and self._fold.next_offset >= self._start_end and not self._ready.is_set():
            log.info("directory_log_ready", client_id=self._client_id, offset=self._fold.next_offset)
            self._ready.set()
        async with self._progress:
            self._progress.notify_all()


async def read_directory(settings: CommonSettings, as_of: datetime | None = None) -> DirectoryState:
    """The directory as the topic holds it now (or as it stood at `as_of`), read once (for tools).

    Raises TimeoutError when the topic cannot be read within the settings' start-up timeout.
    """
    directory = DirectoryLog(settings, "directory-reader")
    stop = asyncio.Event()
    tailing = asyncio.create_task(directory.run(stop), name="directory-reader")
    try:
        await directory.ready(settings.startup_timeout_s)
    finally:
        stop.set()
        tailing.cancel()  # it may be waiting on an unreachable broker; the consumer stops in its `finally`
        with contextlib.suppress(asyncio.CancelledError):
            await tailing
    return directory.as_of(as_of) if as_of is not None else directory.state
