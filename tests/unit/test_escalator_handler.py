"""The escalator's fold runs in a worker thread, so the timer loop on the event loop keeps firing meanwhile."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from escalator import handler as handler_module
from escalator.batch import Known, Outcome, fold_batch
from escalator.handler import EscalatorHandler
from escalator.policies import PolicyBook
from incidents_shared.consumer import Record
from incidents_shared.domain.events import EventBase
from tests.unit.test_policy_escalator import FAST


class FakeConn:
    """Nothing stored yet: every query answers no rows."""

    async def fetch(self, *args: Any) -> list[Any]:
        return []

    async def execute(self, *args: Any) -> None:
        return None

    async def executemany(self, *args: Any) -> None:
        return None

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        yield


class FakePool:
    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[FakeConn]:
        yield FakeConn()


async def test_the_event_loop_stays_responsive_while_a_batch_is_folded(monkeypatch: pytest.MonkeyPatch) -> None:
    def slow_fold(batch: list[tuple[Record, EventBase | None]], known: Known, book: PolicyBook) -> Outcome:
        time.sleep(0.3)  # the CPU of a large batch
        return fold_batch(batch, known, book)

    monkeypatch.setattr(handler_module, "fold_batch", slow_fold)
    ticks = 0

    async def timer_loop() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    other = asyncio.create_task(timer_loop())
    handler = EscalatorHandler(FakePool(), "escalator", "topic", PolicyBook(FAST))  # type: ignore[arg-type]
    await handler.handle([Record(0, 0, None, b"not an event")])
    other.cancel()
    assert ticks >= 10
