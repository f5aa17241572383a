"""The projector catching up over the backlog: N processes of one consumer group, timed from their launch, with
the CPU each part spent per event (the same meter as the load runs: bench/cpu.py)."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from bench import backlog
from bench.cpu import CpuMeter
from bench.stack import PORT_BASE, STATE, service
from incidentctl.rebuild import PROJECTOR_TABLES
from tests.integration.services import Service

# The projector's tables as rebuild knows them (one list), plus what the projector writes beside them.
PROJECTOR_STATE = (
    f"TRUNCATE {', '.join(t for t in PROJECTOR_TABLES if t != 'stream_counter')}, audit_checkpoints,"
    " consumer_offsets; UPDATE stream_counter SET position = 0"
)


@dataclass
class CatchUp:
    processes: int
    events: int
    seconds: float
    cpu: dict[str, Any]  # CpuMeter.since: cores and ms per event by part
    running: list[Service]  # the projectors, still running unless stopped

    @property
    def eps(self) -> float:
        return self.events / self.seconds

    def summary(self) -> dict[str, Any]:
        per_event = {part: round(1000 * ms, 1) for part, ms in self.cpu["ms_per_request"].items()}
        return {
            "processes": self.processes,
            "events": self.events,
            "seconds": round(self.seconds, 1),
            "eps": round(self.eps, 1),
            "cpu_us_per_event": per_event,
            "cores": self.cpu["cores"],
        }

    def stop(self) -> None:
        for projector in self.running:
            projector.stop()
        self.running = []


def projectors(count: int) -> list[Service]:
    """The bench's projector service and `count - 1` more members of its consumer group."""
    return [service("projector"), *(Service("projector", PORT_BASE + 20 + n) for n in range(count - 1))]


async def catch_up(
    database_url: str, total: int, processes: int, on_launch: Callable[[list[int]], None] | None = None
) -> CatchUp:
    """Launch `processes` projectors together and time them from launch until their offsets cover `total`.

    `on_launch` gets their pids right after the launch (to attach a profiler)."""
    running = projectors(processes)
    started = time.perf_counter()
    for projector in running:
        projector.launch()
    pids = {f"projector-{n}": p.process.pid for n, p in enumerate(running) if p.process is not None}
    if on_launch is not None:
        on_launch(list(pids.values()))
    meter = CpuMeter(pids, STATE)
    before = meter.start()
    try:
        for projector in running:
            projector.wait_healthy(60)
        await backlog.wait_caught_up(database_url, total, timeout_s=3_600)
    except BaseException:
        for projector in running:
            projector.stop()
        raise
    seconds = time.perf_counter() - started
    cpu = meter.since(before, seconds, total)
    cpu["ms_per_request"]["projector"] = sum(v for k, v in cpu["ms_per_request"].items() if k.startswith("projector-"))
    cpu["cores"]["projector"] = round(sum(v for k, v in cpu["cores"].items() if k.startswith("projector-")), 2)
    return CatchUp(processes, total, seconds, cpu, running)


async def reset(database_url: str) -> None:
    """Empty the projector's read model and offsets, so that the next catch-up reads the backlog again."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(PROJECTOR_STATE)
    finally:
        await conn.close()
