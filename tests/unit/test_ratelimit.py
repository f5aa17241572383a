"""The per-principal token bucket, with an injected clock."""

from command_api.ratelimit import RateLimiter, retry_after_header


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill_per_principal() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    assert [limiter.take("alice") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("alice")
    assert wait == 0.5
    assert retry_after_header(wait) == "1"
    assert limiter.take("bob") == 0.0, "another principal has its own bucket"
    clock.now += 0.5
    assert limiter.take("alice") == 0.0
    assert limiter.take("alice") > 0
