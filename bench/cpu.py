"""Where the CPU goes during a measurement: each service, Kafka, PostgreSQL, the load generator, the machine.

On a 2-core machine that runs everything, a throughput figure is only explained by this budget: milliseconds of
CPU per request for each part; their sum times the rate cannot exceed the cores.
"""

import os
import resource
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
    return found


def _first_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None


def _machine_busy_seconds() -> float:
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / TICK  # everything but idle and iowait


@dataclass
class CpuMeter:
    """Snapshot CPU seconds of named processes (with PostgreSQL's backends), then report the difference."""

    services: dict[str, int]
    state_dir: Path

    def _groups(self) -> dict[str, float]:
        groups = {name: _cpu_seconds(pid) for name, pid in self.services.items()}
        kafka = _first_int(self.state_dir / "kafka" / "kafka.pid")
        groups["kafka"] = _cpu_seconds(kafka) if kafka else 0.0
        postmaster = _first_int(self.state_dir / "pg" / "data" / "postmaster.pid")
        if postmaster:
            # Per process, keyed "postgres:<pid>": backends come and go with connections (see `since`).
            for pid in [postmaster, *_children(postmaster)]:
                groups[f"postgres:{pid}"] = _cpu_seconds(pid)
        own = resource.getrusage(resource.RUSAGE_CHILDREN)
        groups["generator"] = own.ru_utime + own.ru_stime  # wrk, once it has been waited for
        groups["machine"] = _machine_busy_seconds()
        return groups

    def start(self) -> dict[str, float]:
        return self._groups()

    def since(self, before: dict[str, float], seconds: float, requests: int) -> dict[str, Any]:
        """CPU used between `before` and now. A PostgreSQL backend that started meanwhile counts whole; one that
        exited meanwhile is missed (its last CPU cannot be read any more), so the figure is a lower bound."""
        after = self._groups()
        used: dict[str, float] = {}
        for name, value in after.items():
            group = name.split(":", 1)[0]
            used[group] = used.get(group, 0.0) + max(0.0, value - before.get(name, 0.0))
        return {
            "cores": {name: round(value / seconds, 2) for name, value in used.items()},
            "ms_per_request": {name: round(1000 * value / max(requests, 1), 3) for name, value in used.items()},
        }
