"""One PostgreSQL listener per process: channels -> callbacks, on a connection of its own that comes back.

PostgreSQL delivers a notification only to sessions listening when it commits, so a listener that lost its
connection misses what was sent meanwhile. After every (re)connection, once each channel is listened to again,
the listener therefore calls every callback with `None`: "you may have missed something, look again". Users
keep a periodic re-check too (a silently dead TCP connection is noticed only by the next ping).
"""

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import asyncpg
import structlog

from incidents_shared.db import DATABASE_ERRORS
from incidents_shared.supervise import Backoff, pause, wait_any

log = structlog.get_logger(__name__)

# The payload of a notification, or None after a (re)connection; may return an awaitable, which is run as a task.
Callback = Callable[[str | None], Awaitable[None] | None]
RECONNECT = Backoff(first_s=0.2, cap_s=5.0, healthy_s=0.0)
PING_S = 10.0  # how often an idle connection is checked
CONNECT_TIMEOUT_S = 5.0


class Listener:
    """LISTEN on every channel of `channels`; reconnect with backoff whenever the connection is lost.

    `run(stop)` is a worker (incidents_shared.supervise). `name` becomes the session's application_name, so
    operators (and tests) can find the listener in pg_stat_activity.
    """

    def __init__(self, dsn: str, name: str, channels: Mapping[str, Callback], *, backoff: Backoff = RECONNECT):
        self.dsn, self.name, self.backoff = dsn, name, backoff
        self.channels = dict(channels)
        self.connections = 0  # successful connections so far
        self.listening = asyncio.Event()  # set while every channel is listened to
        self._tasks: set[asyncio.Future[None]] = set()  # callbacks' awaitables, kept referenced while they run

    async def run(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                conn = await asyncpg.connect(
                    self.dsn, timeout=CONNECT_TIMEOUT_S, server_settings={"application_name": self.name}
                )
            except DATABASE_ERRORS as exc:
                failures += 1
                delay = self.backoff.delay(failures)
                log.warning("listener_unavailable", name=self.name, error=repr(exc), retry_in_s=delay)
                await pause(stop, delay)
                continue
            failures = 0
            try:
                await self._listen(conn, stop)
            except DATABASE_ERRORS as exc:
                log.warning("listener_connection_lost", name=self.name, error=repr(exc))
            finally:
                self.listening.clear()
                await _close(conn)

    async def _listen(self, conn: "asyncpg.Connection[Any]", stop: asyncio.Event) -> None:
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _: lost.set())
        for channel in self.channels:
            await conn.add_listener(channel, self._notified)
        self.connections += 1
        self.listening.set()
        log.info("listener_connected", name=self.name, channels=sorted(self.channels), connections=self.connections)
        for callback in self.channels.values():
            self._call(callback, None)  # whatever was sent while not listening is lost: look again
        while True:
            await wait_any(PING_S, stop, lost)
            if stop.is_set():
                return
            if lost.is_set():
                log.warning("listener_connection_lost", name=self.name, error="connection closed")
                return
            await conn.execute("SELECT 1", timeout=CONNECT_TIMEOUT_S)  # a dead peer shows here

    def _notified(self, conn: object, pid: int, channel: str, payload: object) -> None:
        self._call(self.channels[channel], str(payload))

    def _call(self, callback: Callback, payload: str | None) -> None:
        result = callback(payload)
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._tasks.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: "asyncio.Future[None]") -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("listener_callback_failed", name=self.name, error=repr(task.exception()))


async def _close(conn: "asyncpg.Connection[Any]") -> None:
    if conn.is_closed():
        return
    try:
        await asyncio.wait_for(conn.close(), CONNECT_TIMEOUT_S)
    except DATABASE_ERRORS:  # TimeoutError is an OSError
        conn.terminate()
