"""How many live streams may be open at once, per process and per principal (docs/decisions/0092).

A stream holds a connection and a task for as long as the client wants; without a bound, one token could
hold every socket the process may open. Over the principal's share: 429; the process full: 503 (another
instance may have room). Both with Retry-After and a problem body that names the limit.
"""

import weakref
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field

from prometheus_client import Counter as Total
from prometheus_client import Gauge

from command_api.problems import Problem

OPEN = Gauge("api_streams_open", "Live streams open on this process")
REFUSED = Total("api_streams_refused_total", "Live streams refused, by the limit they met", ["reason"])


@dataclass
class Lease:
    """One open stream's place; `release` may be called more than once."""

    limits: "StreamLimits"
    principal: str
    released: bool = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.limits.give_back(self.principal)


@dataclass
class StreamLimits:
    per_instance: int
    per_principal: int
    retry_after_s: int = 5
    _open: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self._open.values())

    def of(self, principal: str) -> int:
        return self._open[principal]

    def acquire(self, principal: str) -> Lease:
        """A place for one more stream of `principal`, or a Problem (429 or 503) saying which limit it met."""
        retry = {"Retry-After": str(self.retry_after_s)}
        if self._open[principal] >= self.per_principal:
            REFUSED.labels("principal").inc()
            raise Problem(
                429,
                "too-many-streams",
                "Too many open streams",
                f"limit per principal: {self.per_principal} open streams; close one first",
                headers=retry,
            )
        if self.total >= self.per_instance:
            REFUSED.labels("instance").inc()
            raise Problem(
                503,
                "streams-full",
                "This instance serves as many streams as it may",
                f"limit per instance: {self.per_instance} open streams; retry later or on another instance",
                headers=retry,
            )
        self._open[principal] += 1
        OPEN.inc()
        return Lease(self, principal)

    def give_back(self, principal: str) -> None:
        self._open[principal] -= 1
        if self._open[principal] <= 0:
            del self._open[principal]
        OPEN.dec()


def leased(events: AsyncIterator[str], lease: Lease) -> AsyncGenerator[str, None]:
    """The events, holding `lease` until the stream ends, fails or is dropped (even before its first event)."""

    async def held() -> AsyncGenerator[str, None]:
        try:
            async for chunk in events:
                yield chunk
        finally:
            lease.release()

    stream = held()
    weakref.finalize(stream, lease.release)  # a response never iterated still gives its place back
    return stream
