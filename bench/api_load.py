"""Closed-loop throughput with wrk (a C load generator, so the generator is not the bottleneck)."""

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

TEMPLATE = Path(__file__).with_name("mix.lua.tmpl")


@dataclass(frozen=True)
class WrkResult:
    rps: float
    non_2xx: int
    requests: int


def write_script(token: str, incident_ids: list[str], prefer: str) -> Path:
    lua = (
        TEMPLATE.read_text()
        .replace("__TOKEN__", token)
        .replace("__PREFER__", prefer)
        .replace("__IDS__", ", ".join(f'"{i}"' for i in incident_ids))
    )
    path = Path(tempfile.mkdtemp(prefix="bench-wrk-")) / "mix.lua"
    path.write_text(lua)
    return path


def run_wrk(url: str, script: Path, seconds: int, connections: int = 64, threads: int = 2) -> WrkResult:
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return WrkResult(rps=rps, non_2xx=int(bad.group(1)) if bad else 0, requests=total)
