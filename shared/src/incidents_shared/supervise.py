"""One way to run a service's long-lived workers: none of them dies silently.

A worker is a named coroutine function that runs until the service's stop event is set. When one raises (or
returns while the service still runs) the supervisor logs `worker_failed` with its name and the error, then
either restarts it after a capped exponential backoff (a worker declared `restart=True`) or stops every other
worker and raises `WorkerFailed`, which `run_service` turns into exit status 1.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

log = structlog.get_logger(__name__)

WorkerRun = Callable[[asyncio.Event], Coroutine[Any, Any, None]]
GRACE_S = 15.0  # after stop, how long workers may take to return before they are cancelled


@dataclass(frozen=True)
class Worker:
    """A long-lived task of a service: `run(stop)` returns soon after `stop` is set."""

    name: str
    run: WorkerRun
    restart: bool = False  # after a failure: run again after a backoff (True) or stop the service (False)


@dataclass(frozen=True)
class Backoff:
    """Capped exponential delays; a worker that ran `healthy_s` before failing starts again from `first_s`."""

    first_s: float = 0.5
    cap_s: float = 30.0
    healthy_s: float = 60.0

    def delay(self, failures: int) -> float:
        """The pause before attempt `failures + 1` (`failures` >= 1)."""
        return float(min(self.cap_s, self.first_s * 2 ** (failures - 1)))


class WorkerFailed(RuntimeError):
    """A worker that may not be restarted failed: the service stops."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"worker {name} failed: {reason}")
        self.name, self.reason = name, reason


class WorkerReturned(RuntimeError):
    """A worker returned while the service was still running (a long-lived worker never should)."""


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Sleep up to `seconds`, waking at once when `stop` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def every(stop: asyncio.Event, seconds: float, once: Callable[[], Awaitable[object]]) -> None:
    """Call `once`, then again `seconds` after each call ends, until `stop`; an error ends it (for `supervise`)."""
    while not stop.is_set():
        await once()
        await pause(stop, seconds)


async def wait_any(timeout_s: float, *events: asyncio.Event) -> None:
    """Wait until any of `events` is set, at most `timeout_s`."""
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()


async def run_when_woken(
    stop: asyncio.Event,
    wake: asyncio.Event,
    recheck_s: float,
    once: Callable[[], Awaitable[object]],
    retried: tuple[type[BaseException], ...],
    event: str,
) -> None:
    """A worker's loop: run `once` now, then again whenever `wake` is set (a listener's callback) or `recheck_s`
    has passed, until `stop`; an error of the `retried` kinds is logged as `event` and tried again next time."""
    while not stop.is_set():
        wake.clear()
        try:
            await once()
        except retried as exc:
            log.warning(event, error=repr(exc))
        await wait_any(recheck_s, stop, wake)


async def supervise(
    workers: Sequence[Worker], stop: asyncio.Event, *, backoff: Backoff = Backoff(), grace_s: float = GRACE_S
) -> None:
    """Run `workers` until `stop` is set; raise WorkerFailed once they stopped if one that may not restart failed."""
    failed: list[WorkerFailed] = []
    tasks = [asyncio.create_task(_keep(w, stop, backoff, failed), name=w.name) for w in workers]
    try:
        await stop.wait()
        _, late = await asyncio.wait(tasks, timeout=grace_s) if tasks else (set(), set())
        for task in late:
            log.warning("worker_cancelled", name=task.get_name(), grace_s=grace_s)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if failed:
        raise failed[0]


async def _keep(worker: Worker, stop: asyncio.Event, backoff: Backoff, failed: list[WorkerFailed]) -> None:
    clock = asyncio.get_running_loop().time
    failures = 0
    while not stop.is_set():
        started = clock()
        try:
            await worker.run(stop)
            if stop.is_set():
                return
            raise WorkerReturned("returned while the service was running")
        # The one place that catches everything, by design: the error is logged and the worker restarted (as it
        # declared) or the service stopped; nothing carries on as if it had not happened.
        except Exception as exc:
            failures = 1 if clock() - started >= backoff.healthy_s else failures + 1
            if not worker.restart:
                log.error("worker_failed", name=worker.name, error=repr(exc), action="stop_service", exc_info=exc)
                failed.append(WorkerFailed(worker.name, repr(exc)))
                stop.set()
                return
            delay = backoff.delay(failures)
            log.error("worker_failed", name=worker.name, error=repr(exc), action="restart", restart_in_s=delay,
                      failures=failures, exc_info=exc)  # fmt: skip
            await pause(stop, delay)
            if not stop.is_set():
                log.info("worker_restarted", name=worker.name, failures=failures)


@contextlib.asynccontextmanager
async def background(workers: Sequence[Worker], *, backoff: Backoff = Backoff()) -> AsyncIterator[None]:
    """Run restartable workers for the duration of a block (an ASGI lifespan), stopping them at its end.

    Only restartable workers: a lifespan cannot stop its server, so a worker here must keep itself alive.
    """
    fatal = [w.name for w in workers if not w.restart]
    if fatal:
        raise ValueError(f"background workers must be restartable: {fatal}")
    stop = asyncio.Event()
    running = asyncio.create_task(supervise(workers, stop, backoff=backoff), name="background-workers")
    try:
        yield
    finally:
        stop.set()
        await running


def run_service(main: Coroutine[Any, Any, None], runner: Callable[[Coroutine[Any, Any, None]], None]) -> None:
    """Run a service's main coroutine with `runner` (asyncio.run, uvloop.run); a failed worker exits with status 1."""
    try:
        runner(main)
    except WorkerFailed as exc:
        log.error("service_failed", name=exc.name, error=exc.reason)
        raise SystemExit(1) from exc
