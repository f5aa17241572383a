"""Open-stream limits per principal and per process, and batch costs in the token bucket (decision 0092)."""

import asyncio
import gc
from collections.abc import AsyncIterator

import pytest

from command_api.problems import Problem
from command_api.ratelimit import RateLimiter
from command_api.stream_limits import StreamLimits, leased


def test_the_principal_limit_is_429_and_the_instance_limit_503() -> None:
    limits = StreamLimits(per_instance=3, per_principal=2, retry_after_s=7)
    first, _ = limits.acquire("alice"), limits.acquire("alice")
    with pytest.raises(Problem) as over:
        limits.acquire("alice")
    assert over.value.status == 429 and "per principal: 2" in str(over.value.detail)
    assert over.value.headers == {"Retry-After": "7"}
    limits.acquire("bob")
    with pytest.raises(Problem) as full:
        limits.acquire("carol")
    assert full.value.status == 503 and "per instance: 3" in str(full.value.detail)
    first.release()
    first.release()  # twice: given back once
    assert limits.total == 2 and limits.of("alice") == 1
    limits.acquire("carol")


async def _events() -> AsyncIterator[str]:
    yield "a"
    yield "b"


def test_a_stream_gives_its_place_back_when_it_ends_or_is_never_read() -> None:
    limits = StreamLimits(per_instance=10, per_principal=10)

    async def read_all() -> list[str]:
        return [chunk async for chunk in leased(_events(), limits.acquire("alice"))]

    assert asyncio.run(read_all()) == ["a", "b"] and limits.total == 0
    stream = leased(_events(), limits.acquire("alice"))
    assert limits.total == 1
    del stream
    gc.collect()
    assert limits.total == 0, "a response that never started still released its place"


def test_a_batch_costs_its_size_all_or_nothing() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=1.0, burst=10, clock=lambda: now[0])
    assert limiter.take("hook", 8) == 0.0
    assert limiter.take("hook", 5) == 3.0, "2 left: 3 more seconds for 5"
    assert limiter.take("hook", 2) == 0.0, "the refused batch took nothing"
    assert limiter.fits(10) and not limiter.fits(11)
