"""The supervisor with plain asyncio workers: a failure stops the service or restarts the worker, never silence."""

import asyncio

import pytest
from structlog.testing import capture_logs

from incidents_shared.supervise import Backoff, Worker, WorkerFailed, background, run_service, supervise

FAST = Backoff(first_s=0.01, cap_s=0.04, healthy_s=60.0)


async def _until_stopped(stop: asyncio.Event) -> None:
    await stop.wait()


async def _boom(stop: asyncio.Event) -> None:
    await asyncio.sleep(0.01)
    raise RuntimeError("kafka down")


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [Backoff(first_s=0.5, cap_s=3.0).delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


async def test_a_failed_worker_stops_the_others_and_the_service_with_its_reason() -> None:
    stop = asyncio.Event()
    stopped: list[str] = []

    async def other(stop: asyncio.Event) -> None:
        await stop.wait()
        stopped.append("other")

    with capture_logs() as logs, pytest.raises(WorkerFailed, match="kafka down") as failed:
        await supervise([Worker("monitor", _boom), Worker("other", other)], stop, backoff=FAST)

    assert failed.value.name == "monitor"
    assert stopped == ["other"], "the others were asked to stop and returned"
    entry = next(e for e in logs if e["event"] == "worker_failed")
    assert (entry["name"], entry["action"], entry["log_level"]) == ("monitor", "stop_service", "error")
    assert "kafka down" in entry["error"]


async def test_a_restartable_worker_is_restarted_with_backoff_and_then_works() -> None:
    stop = asyncio.Event()
    attempts: list[int] = []

    async def flaky(stop: asyncio.Event) -> None:
        attempts.append(len(attempts))
        if len(attempts) < 4:
            raise ConnectionError("not yet")
        stop.set()  # the fourth attempt works; the test ends here

    with capture_logs() as logs:
        await supervise([Worker("release", flaky, restart=True), Worker("idle", _until_stopped)], stop, backoff=FAST)

    assert len(attempts) == 4
    delays = [e["restart_in_s"] for e in logs if e["event"] == "worker_failed"]
    assert delays == [0.01, 0.02, 0.04], "capped exponential backoff"


async def test_a_worker_that_returns_while_the_service_runs_counts_as_failed() -> None:
    async def quits(stop: asyncio.Event) -> None:
        return

    with pytest.raises(WorkerFailed, match="returned while the service was running"):
        await supervise([Worker("quitter", quits), Worker("idle", _until_stopped)], asyncio.Event(), backoff=FAST)


async def test_stop_ends_every_worker_cleanly_and_cancels_one_that_ignores_it() -> None:
    stop = asyncio.Event()
    cancelled: list[str] = []

    async def deaf(stop: asyncio.Event) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append("deaf")
            raise

    asyncio.get_running_loop().call_later(0.01, stop.set)
    with capture_logs() as logs:
        await supervise([Worker("idle", _until_stopped), Worker("deaf", deaf)], stop, grace_s=0.05)

    assert cancelled == ["deaf"]
    assert [e["name"] for e in logs if e["event"] == "worker_cancelled"] == ["deaf"]
    assert not [e for e in logs if e["event"] == "worker_failed"]


async def test_background_runs_restartable_workers_for_a_block_only() -> None:
    runs: list[str] = []

    async def listener(stop: asyncio.Event) -> None:
        runs.append("started")
        await stop.wait()
        runs.append("stopped")

    async with background([Worker("listener", listener, restart=True)]):
        await asyncio.sleep(0.01)
        assert runs == ["started"]
    assert runs == ["started", "stopped"]
    with pytest.raises(ValueError, match="restartable"):
        async with background([Worker("fatal", listener)]):
            pass


def test_run_service_exits_with_status_1_on_a_failed_worker() -> None:
    async def main() -> None:
        await supervise([Worker("consumer", _boom)], asyncio.Event())

    with capture_logs() as logs, pytest.raises(SystemExit) as exited:
        run_service(main(), asyncio.run)

    assert exited.value.code == 1
    assert [e["name"] for e in logs if e["event"] == "service_failed"] == ["consumer"]
