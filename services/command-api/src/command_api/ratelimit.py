"""A token bucket per principal: bursts up to `burst`, sustained `rate` requests per second.

A request costs one token; a batch of alerts costs one per alert (docs/decisions/0092).
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class RateLimiter:
    rate: float
    burst: int
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def take(self, key: str, cost: float = 1.0) -> float:
        """0 when a request costing `cost` tokens may go ahead (they are taken), else the seconds to wait until
        it would (nothing is taken). A cost above `burst` can never go ahead: check `fits` first."""
        now = self.clock()
        bucket = self._buckets.get(key) or _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        self._buckets[key] = bucket
        if bucket.tokens >= cost:
            bucket.tokens -= cost
            return 0.0
        return (cost - bucket.tokens) / self.rate

    def fits(self, cost: float) -> bool:
        """Whether a full bucket holds `cost` tokens."""
        return cost <= self.burst


def retry_after_header(wait_s: float) -> str:
    return str(max(1, math.ceil(wait_s)))
