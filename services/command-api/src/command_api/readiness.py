"""/readyz from one background check, not from a new broker connection per request (docs/decisions/0092).

/readyz needs no token, so whatever it does per request anyone can make the API do: it used to open a Kafka
admin connection each time. Now one worker checks Kafka (over one long-lived admin client) and PostgreSQL every
`every_s`, and /readyz answers the last result: a few seconds old at most, "Stale" when the worker stopped.
The answer names the failure's type only, never a broker address (docs/decisions/0082).
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
import structlog
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import Counter

from incidents_shared.ops import PROBE_TIMEOUT_S, Probe
from incidents_shared.supervise import pause

log = structlog.get_logger(__name__)
KAFKA_CLIENTS = Counter("api_readiness_kafka_clients_total", "Kafka admin clients the readiness check started")


class NotChecked(Exception):
    """No check has finished yet."""


class Stale(Exception):
    """The last check is older than the readiness answer may be."""


@dataclass
class _Result:
    at: float
    error: Exception | None


class KafkaCheck:
    """Lists topics over one admin client, kept while it works and started again after a failed check."""

    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap
        self._admin: AIOKafkaAdminClient | None = None

    async def __call__(self) -> None:
        if self._admin is None:
            admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap, request_timeout_ms=2_000)
            KAFKA_CLIENTS.inc()
            try:
                await admin.start()
            except BaseException:
                await admin.close()
                raise
            self._admin = admin
        try:
            await self._admin.list_topics()
        except BaseException:
            await self.close()  # the next check starts a fresh client: one per failed check, never per request
            raise

    async def close(self) -> None:
        if self._admin is not None:
            await self._admin.close()
            self._admin = None


def postgres_check(pool: "asyncpg.Pool[asyncpg.Record]") -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        async with pool.acquire(timeout=PROBE_TIMEOUT_S) as conn:
            await conn.fetchval("SELECT 1")

    return check


class Readiness:
    """The last result of each check, refreshed by `run` (a worker); `probes()` is what /readyz asks."""

    def __init__(self, checks: dict[str, Callable[[], Awaitable[None]]], every_s: float) -> None:
        self._checks, self.every_s = checks, every_s
        self._results: dict[str, _Result] = {}
        self._checked = asyncio.Event()
        self.max_age_s = 2 * every_s + 2 * PROBE_TIMEOUT_S

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                await self.check_once()
                await pause(stop, self.every_s)
        finally:
            for check in self._checks.values():
                if isinstance(check, KafkaCheck):
                    await check.close()

    async def check_once(self) -> None:
        names = list(self._checks)
        errors = await asyncio.gather(*(self._check(self._checks[n]) for n in names))
        now = asyncio.get_running_loop().time()
        for name, error in zip(names, errors, strict=True):
            previous = self._results.get(name)
            if error is not None and (previous is None or previous.error is None):
                log.warning("readiness_check_failed", check=name, error=type(error).__name__)
            self._results[name] = _Result(now, error)
        self._checked.set()

    @staticmethod
    async def _check(check: Callable[[], Awaitable[None]]) -> Exception | None:
        try:
            await asyncio.wait_for(check(), PROBE_TIMEOUT_S)
            return None
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
            return exc

    def probes(self) -> dict[str, Probe]:
        return {name: self._answer(name) for name in self._checks}

    def _answer(self, name: str) -> Probe:
        async def answer() -> None:
            if name not in self._results:
                await self._checked.wait()  # just started: the first check is on its way (ops bounds the wait)
            result = self._results.get(name)
            if result is None:
                raise NotChecked
            if asyncio.get_running_loop().time() - result.at > self.max_age_s:
                raise Stale
            if result.error is not None:
                raise result.error.with_traceback(None)

        return answer
