"""Failed logins limited per client address (docs/decisions/0089).

After `limit` failures (a wrong bearer token, a refused console sign-in) from one address in a fixed window of
`window_s` seconds, further attempts from it get 429 until the window ends, without their token being checked.
Failures are counted in PostgreSQL (`FailureStore`), shared by every API instance; the decision to refuse is then
kept in this instance's memory, so a refused or successful request costs a dict lookup and no database round trip.
An instance that has not yet seen the address blocked learns it at the next failure from there (the shared count is
already past the limit): across k instances an address gets at most limit + k - 1 failed tries per window.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import structlog
from starlette.requests import Request

from command_api.problems import Problem
from command_api.ratelimit import retry_after_header
from incidents_shared.db import DATABASE_ERRORS, Pool

log = structlog.get_logger(__name__)


class FailureStore(Protocol):
    async def add(self, address: str, window_start: datetime) -> int:
        """Count one failure of `address` in the window starting at `window_start`; the window's count after it."""
        ...


class PgFailures:
    """The shared count: one upsert per failure, and a sweep of the windows that have ended."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def add(self, address: str, window_start: datetime) -> int:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM auth_failures WHERE window_start < $1", window_start)
            count: int = await conn.fetchval(
                "INSERT INTO auth_failures (address, window_start, failures) VALUES ($1, $2, 1)"
                " ON CONFLICT (address, window_start) DO UPDATE SET failures = auth_failures.failures + 1"
                " RETURNING failures",
                address,
                window_start,
            )
        return count


@dataclass
class LoginLimits:
    limit: int
    window_s: float
    store: FailureStore | None = None  # None: this instance counts alone
    clock: Callable[[], float] = time.time  # wall-clock seconds: the windows are shared across instances
    _window: float = 0.0
    _counts: dict[str, int] = field(default_factory=dict)  # this window's failures per address (no store, or its down)
    _blocked: set[str] = field(default_factory=set)  # addresses refused until this window ends

    def refused(self, address: str) -> float:
        """0 when `address` may try to log in, else the seconds until it may (the Retry-After)."""
        now = self._roll()
        return self._left(now) if address in self._blocked else 0.0

    async def failed(self, address: str) -> float:
        """Count a failed login; > 0 (the seconds to wait) when this very attempt is past the limit."""
        now = self._roll()
        count = await self._count(address)
        if count >= self.limit:
            if address not in self._blocked:
                log.warning("login_failures_limited", address=address, failures=count, window_s=self.window_s)
            self._blocked.add(address)
        return self._left(now) if count > self.limit else 0.0

    async def _count(self, address: str) -> int:
        local = self._counts[address] = self._counts.get(address, 0) + 1
        if self.store is None:
            return local
        try:
            return max(local, await self.store.add(address, datetime.fromtimestamp(self._window, UTC)))
        except DATABASE_ERRORS as exc:  # the limit still holds on this instance's own count
            log.warning("login_failures_unshared", error=type(exc).__name__)
            return local

    def _roll(self) -> float:
        now = self.clock()
        window = math.floor(now / self.window_s) * self.window_s
        if window != self._window:
            self._window, self._counts, self._blocked = window, {}, set()
        return now

    def _left(self, now: float) -> float:
        return max(1.0, self._window + self.window_s - now)


def unshared_limits() -> LoginLimits:
    """This instance's own count at the default limit (an app built without the settings' limits, in unit tests)."""
    return LoginLimits(limit=20, window_s=60)


def client_address(request: Request) -> str:
    """The peer's address as the server sees it (behind a proxy: what its forwarded headers were trusted to say)."""
    return request.client.host if request.client else "unknown"


def too_many_failures(wait_s: float) -> Problem:
    return Problem(
        429,
        "too-many-failed-logins",
        "Too many failed logins",
        "too many failed logins from your address; wait for Retry-After seconds",
        headers={"Retry-After": retry_after_header(wait_s)},
    )
