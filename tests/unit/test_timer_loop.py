"""The timer loop's pacing: it pauses between ticks, but not while a backlog of due timers is draining."""

import asyncio
import time

from escalator.clock import SystemClock
from escalator.firing import Every, TimerLoop
from escalator.ownership import Ownership
from incidents_shared.domain.escalation.book import PolicyBook
from incidents_shared.domain.escalation.people import People
from tests.unit.test_policy_escalator import FAST, RecordingLog


class ScriptedLoop(TimerLoop):
    """Ticks fire the scripted counts; the service stops after the last one."""

    def __init__(self, fired: list[int], stop: asyncio.Event, *, tick_s: float, batch: int) -> None:
        book = PolicyBook(FAST)
        super().__init__(None, RecordingLog(), book, People, SystemClock(), Ownership(), tick_s=tick_s, batch=batch)  # type: ignore[arg-type]
        self.fired, self.stop, self.ticks = fired, stop, 0

    async def tick(self) -> int:
        self.ticks += 1
        if self.ticks == len(self.fired):
            self.stop.set()
        return self.fired[self.ticks - 1]


async def test_full_batches_fire_back_to_back_without_pausing() -> None:
    stop = asyncio.Event()
    loop = ScriptedLoop([3, 3, 3, 1], stop, tick_s=30, batch=3)
    started = time.monotonic()
    await asyncio.wait_for(loop.run(stop), 5)
    assert loop.ticks == 4
    assert time.monotonic() - started < 1


async def test_a_partial_batch_pauses_for_a_tick() -> None:
    stop = asyncio.Event()
    loop = ScriptedLoop([2, 0], stop, tick_s=0.3, batch=3)
    started = time.monotonic()
    await asyncio.wait_for(loop.run(stop), 5)
    assert loop.ticks == 2
    assert time.monotonic() - started >= 0.3


def test_every_is_true_at_most_once_per_period() -> None:
    now = [100.0]
    every = Every(10, lambda: now[0])
    assert every()
    now[0] = 109.9
    assert not every()
    now[0] = 110.0
    assert every()
    assert not every()
