"""Waiting for the projector's verdict on an appended event: LISTEN/NOTIFY, with a read as the fallback."""

import asyncio
import contextlib
import time
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from prometheus_client import Histogram

from command_api.ports import IncidentReader
from command_api.records import VerdictRow

log = structlog.get_logger(__name__)
CHANNEL = "incident_verdicts"
RECHECK_S = 1.0  # a lost notification (listener reconnecting) costs at most this much
VERDICT_WAIT = Histogram("api_verdict_wait_seconds", "Time from append to the projector's verdict")


class VerdictWaiter:
    """The `Verdicts` port on PostgreSQL LISTEN/NOTIFY (the projector announces each verdict)."""

    def __init__(self, dsn: str, read_model: IncidentReader) -> None:
        self._dsn = dsn
        self._read_model = read_model
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._conn: asyncpg.Connection | None = None
        self._watchdog: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._connect()
        self._watchdog = asyncio.create_task(self._keep_listening())

    async def stop(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()

    async def _connect(self) -> None:
        try:
            conn = await asyncpg.connect(self._dsn, timeout=5)
            await conn.add_listener(CHANNEL, self._notified)
            self._conn = conn
            log.info("verdict_listener_connected")
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            log.warning("verdict_listener_unavailable", error=repr(exc))

    async def _keep_listening(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            if self._conn is None or self._conn.is_closed():
                await self._connect()

    def _notified(self, conn: Any, pid: int, channel: str, payload: object) -> None:
        for future in self._waiters.pop(str(payload), []):
            if not future.done():
                future.set_result(None)

    def expect(self, event_id: UUID) -> asyncio.Future[None]:
        """Register interest before appending, so no notification can slip past."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(str(event_id), []).append(future)
        return future

    async def wait(self, event_id: UUID, future: asyncio.Future[None], timeout_s: float) -> VerdictRow | None:
        """The verdict, or None when it has not come within `timeout_s`."""
        started = time.perf_counter()
        deadline = started + timeout_s
        try:
            while (remaining := deadline - time.perf_counter()) > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(future), min(remaining, RECHECK_S))
                if (verdict := await self._read_model.verdict(event_id)) is not None:
                    VERDICT_WAIT.observe(time.perf_counter() - started)
                    return verdict
            return None
        finally:
            waiting = self._waiters.get(str(event_id), [])
            if future in waiting:
                waiting.remove(future)
            if not waiting:
                self._waiters.pop(str(event_id), None)
