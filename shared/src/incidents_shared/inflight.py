"""Appends in doubt: a send the log has not acknowledged within the caller's deadline may still land.

A caller that gave up (answered 503, or a timer that will fire again) retries with the same deterministic event
ids. Sending again would put a second copy of the same record on the log whenever the first one lands after all
(the idempotent producer dedups only its own retries of one send, not a new send). So every event id of a send is
tracked: a retry waits for the earlier send of any of its events that is still pending, leaves out the events
that landed, and sends the rest (a command's events travel together, so for it that is all or none; the
escalator's timer events of one incident may be grouped differently from one tick to the next). Bounded: the
most recent `keep` landed ids are remembered.
"""

import asyncio
from collections import OrderedDict
from typing import Any
from uuid import UUID

import structlog

log = structlog.get_logger(__name__)


class StillInDoubt(Exception):
    """An earlier send of the same append has neither landed nor failed yet."""


class InFlight:
    def __init__(self, keep: int = 50_000) -> None:
        self._keep = keep
        self._pending: dict[UUID, asyncio.Future[Any]] = {}
        self._landed: OrderedDict[UUID, None] = OrderedDict()

    def landed(self, key: UUID) -> bool:
        return key in self._landed

    async def still_to_send(self, keys: list[UUID], timeout_s: float) -> list[UUID]:
        """Which of `keys` must be sent: not landed, and no earlier send of theirs pending. Waits (bounded) for the
        pending ones; raises StillInDoubt when one is still pending after `timeout_s`."""
        earlier = {self._pending[k] for k in keys if k in self._pending}
        if earlier:
            log.info("append_retry_waits_for_earlier_send", keys=len(keys), pending=len(earlier))
            _, pending = await asyncio.wait([asyncio.shield(f) for f in earlier], timeout=timeout_s)
            if pending:
                raise StillInDoubt(f"{len(pending)} earlier sends")
        return [k for k in keys if k not in self._landed]

    def watch(self, keys: list[UUID], future: "asyncio.Future[Any]") -> None:
        """The caller gave up on `future`, the send of `keys`: keep it, and remember whether it lands."""
        for key in keys:
            self._pending[key] = future

        def done(finished: "asyncio.Future[Any]") -> None:
            landed = not finished.cancelled() and finished.exception() is None
            for key in keys:
                if self._pending.get(key) is finished:
                    del self._pending[key]
                if landed:
                    self.remember(key)
            if landed:
                log.info("append_landed_after_its_deadline", events=len(keys))

        future.add_done_callback(done)

    def remember_all(self, keys: list[UUID]) -> None:
        for key in keys:
            self.remember(key)

    def remember(self, key: UUID) -> None:
        self._landed[key] = None
        self._landed.move_to_end(key)
        while len(self._landed) > self._keep:
            self._landed.popitem(last=False)
