"""Failed logins limited per client address (command_api.login_limits, docs/decisions/0089), on a driven clock."""

from datetime import datetime

import asyncpg

from command_api.login_limits import LoginLimits


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class SharedCount:
    """What PgFailures does, in memory: one count per (address, window) for every instance."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, datetime], int] = {}
        self.down = False

    async def add(self, address: str, window_start: datetime) -> int:
        if self.down:
            raise asyncpg.PostgresConnectionError("down")
        self.counts[address, window_start] = self.counts.get((address, window_start), 0) + 1
        return self.counts[address, window_start]


async def test_after_n_failures_the_address_waits_for_the_window_to_end() -> None:
    clock = Clock(1_000_040.0)  # 20 s into a 60 s window (1,000,020 is one)
    limits = LoginLimits(limit=3, window_s=60, clock=clock)
    assert [await limits.failed("10.0.0.1") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limits.refused("10.0.0.1") == 40.0
    assert limits.refused("10.0.0.2") == 0.0, "another address is not limited"
    clock.now += 40
    assert limits.refused("10.0.0.1") == 0.0, "a new window"


async def test_a_failure_past_the_shared_limit_is_refused_on_an_instance_that_had_not_seen_it() -> None:
    clock, shared = Clock(60_000.0), SharedCount()
    first, second = (LoginLimits(limit=2, window_s=60, store=shared, clock=clock) for _ in range(2))
    assert await first.failed("10.0.0.1") == 0.0 and await first.failed("10.0.0.1") == 0.0
    assert first.refused("10.0.0.1") > 0
    assert second.refused("10.0.0.1") == 0.0, "the hot path asks no database"
    assert await second.failed("10.0.0.1") == 60.0
    assert second.refused("10.0.0.1") == 60.0


async def test_with_the_database_down_the_instance_still_counts_alone() -> None:
    shared = SharedCount()
    shared.down = True
    limits = LoginLimits(limit=2, window_s=60, store=shared, clock=Clock(120.0))
    assert [await limits.failed("a") for _ in range(3)] == [0.0, 0.0, 60.0]


async def test_retry_after_is_at_least_a_second() -> None:
    limits = LoginLimits(limit=1, window_s=60, clock=Clock(59.9))
    await limits.failed("a")
    assert limits.refused("a") == 1.0
