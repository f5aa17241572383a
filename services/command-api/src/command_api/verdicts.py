"""Waiting for the projector's verdict on an appended event: LISTEN/NOTIFY, with a read as the fallback."""

import asyncio
import contextlib
import time
from uuid import UUID

import structlog
from prometheus_client import Histogram

from command_api.ports import IncidentReader
from command_api.records import VerdictRow

log = structlog.get_logger(__name__)
RECHECK_S = 1.0  # a lost notification (listener reconnecting) costs at most this much
VERDICT_WAIT = Histogram("api_verdict_wait_seconds", "Time from append to the projector's verdict")


class VerdictWaiter:
    """The `Verdicts` port on PostgreSQL LISTEN/NOTIFY (the projector announces each verdict on VERDICT_CHANNEL;
    the process's one listener calls `notified`)."""

    def __init__(self, read_model: IncidentReader) -> None:
        self._read_model = read_model
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}

    def notified(self, payload: str | None) -> None:
        """The listener's callback: the judged event's id, or None after a reconnect."""
        if payload is None:
            return  # what was missed meanwhile, `wait` finds by its re-read every RECHECK_S
        for future in self._waiters.pop(payload, []):
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
