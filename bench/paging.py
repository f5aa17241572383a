"""Arming the pages of new incidents at 1,000 a second (issue 15), on the real stack, counted at a real receiver.

On its own fresh bench stack: the projector, the escalator (policy bench/policies/paging.yaml: a P2 pages the
owning team's on-call at once), the command API, and a webhook receiver in its own process that answers 200 and
counts (bench/paging_receiver.py). The directory (bench/paging_load.py) is created through the API; one P2 per
service then checks that every team's on-call is reached before anything is measured. Two runs follow:

- `api`: an open-loop generator in its own process offers P2 incidents to `POST /v1/incidents` at `rate` for
  `seconds` (`Prefer: respond-async`); the figures of the benchmark.
- `log`: the same rate of `incident.logged` records straight onto the log, decided like the API does: what the
  escalator does when the API is not in front of it (its ceiling on this machine, measured in the same run).

Each run ends once every incident's first page has reached the receiver (or `grace_s` after the load), and
reports: pages (`incident.paged`) appended per second, incidents logged per second, the latency from each
incident's `incident.logged` record to its first `incident.paged` record and to its delivery at the receiver
(bench/paging_observe.py), the escalator's pending timers and outbox afterwards, and the CPU each part spent.

python -m bench.paging [--quick] [--rate R] [--seconds S] [--py-spy OUT]
"""

import argparse
import asyncio
import functools
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import e2e, paging_load, paging_observe
from bench.cpu import CpuMeter
from bench.paging_load import Directory
from bench.paging_observe import LogWatch
from bench.stack import PORTS, STATE, bench_stack, rss_mb, tokens
from bench.timers import PY_SPY, py_spy, stop_py_spy
from incidents_shared.settings import CommonSettings
from tests.integration.services import ROOT, Service

POLICY = Path(__file__).resolve().parent / "policies" / "paging.yaml"
FULL: dict[str, Any] = {"rate": 1000, "seconds": 15, "teams": 20, "users": 5, "services": 2, "grace_s": 900}
QUICK: dict[str, Any] = {"rate": 100, "seconds": 3, "teams": 2, "users": 3, "services": 1, "grace_s": 30}
SETTLE_GROUPS = ("projector", "escalator")


def log(message: str) -> None:
    print(f"bench.paging: {message}", file=sys.stderr, flush=True)


@dataclass
class Rig:
    """The running stack the runs measure."""

    api_url: str
    receiver_url: str
    tokens: dict[str, str]
    settings: CommonSettings
    pids: dict[str, int]
    directory: Directory


Load = Callable[[], Awaitable[tuple[int, dict[str, Any]]]]  # -> (incidents it put on the log, what it says)


async def through_api(rig: Rig, rate: float, seconds: float) -> tuple[int, dict[str, Any]]:
    """The generator in its own process (bench/paging_load.py), as a client of the API would be."""
    work = Path(tempfile.mkdtemp(prefix="bench-paging-"))
    (work / "services.json").write_text(json.dumps(rig.directory.service_ids()))
    command = [sys.executable, "-m", "bench.paging_load", "--url", rig.api_url, "--token", rig.tokens["reporter"]]
    command += ["--services", str(work / "services.json"), "--rate", str(rate), "--seconds", str(seconds)]
    process = await asyncio.create_subprocess_exec(*command, "--out", str(work / "out.json"), cwd=ROOT)
    if await process.wait() != 0:
        raise RuntimeError(f"bench.paging_load failed with {process.returncode}")
    summary: dict[str, Any] = json.loads((work / "out.json").read_text())
    summary.pop("requests")
    return summary["accepted"], summary


async def onto_log(rig: Rig, rate: float, seconds: float) -> tuple[int, dict[str, Any]]:
    s = rig.settings
    started = time.perf_counter()
    produced = await paging_load.produce_paced(
        s.kafka_bootstrap, s.events_topic, rig.directory.service_ids(), rate, seconds
    )
    return produced, {"offered_rps": rate, "produced": produced, "produce_s": round(time.perf_counter() - started, 1)}


async def drain(rig: Rig, watch: LogWatch, expected: int, delivered_before: int, deadline: float) -> bool:
    """Until every incident of the run is on the log, paged and delivered at the receiver, or the deadline."""
    while time.monotonic() < deadline:
        if len(watch.logged) >= expected and not watch.unpaged():
            count = await paging_observe.receiver_count(rig.receiver_url)
            if count - delivered_before >= len(watch.logged):
                return True
        await asyncio.sleep(0.5)
    return False


async def measure_run(rig: Rig, load: Load, grace_s: float, profile: Path | None = None) -> dict[str, Any]:
    s = rig.settings
    watch = LogWatch(s.kafka_bootstrap, s.events_topic, s.topic_partitions)
    await watch.start()
    delivered_before = await paging_observe.receiver_count(rig.receiver_url)
    meter = CpuMeter(rig.pids, STATE)
    before, started, profiler = meter.start(), time.perf_counter(), py_spy(rig.pids["escalator"], profile)
    try:
        expected, said = await load()
        load_s = time.perf_counter() - started
        drained = await drain(rig, watch, expected, delivered_before, time.monotonic() + grace_s)
    finally:
        stop_py_spy(profiler)
    took, gave_up = time.perf_counter() - started, time.time()
    cpu = meter.since(before, took, max(len(watch.logged), 1))
    await watch.stop()
    incidents = set(watch.logged)
    delivered, deliveries = await paging_observe.first_deliveries(rig.receiver_url, incidents)
    return {
        "load": said,
        "incidents": len(incidents),
        "paged": len(watch.paged),
        "page_records": watch.pages,
        "delivered": len(delivered),
        "deliveries": deliveries,
        "all_delivered": drained,
        "load_s": round(load_s, 1),
        "until_all_delivered_s": round(took, 1),
        "logged_rate": paging_observe.rate([v.stamped for v in watch.logged.values()]),
        "pages_rate": paging_observe.rate([v.stamped for v in watch.paged.values()]),
        "delivered_rate": paging_observe.rate(list(delivered.values())),
        **paging_observe.latencies(watch, delivered, gave_up),
        **await paging_observe.escalator_backlog(s.database_url, incidents),
        "cpu": cpu,  # cores and ms of CPU per incident, by part, from the load's start until all were delivered
        "per_second": paging_observe.timeline(gave_up - took, watch, delivered),
    }


async def warm_up(rig: Rig) -> float:
    """One P2 per service; every one must reach its team's on-call (the escalator has the directory)."""
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=rig.api_url, timeout=60) as api:
        headers = {"Authorization": f"Bearer {rig.tokens['reporter']}"}
        answers = [
            await api.post(
                "/v1/incidents", headers=headers, json={"title": "warm-up", "service": service, **paging_load.P2}
            )
            for service in rig.directory.service_ids()
        ]
    ids = {a.json()["incident_id"] for a in answers if a.status_code == 201}
    while time.perf_counter() - started < 60:
        first, _ = await paging_observe.first_deliveries(rig.receiver_url, ids)
        if len(first) == len(rig.directory.service_ids()):
            return round(time.perf_counter() - started, 1)
        await asyncio.sleep(0.5)
    raise RuntimeError(f"warm-up: {len(ids)} P2 incidents logged, only {len(first)} paged within 60 s")


async def measure(rig: Rig, size: dict[str, Any], profile: Path | None) -> dict[str, Any]:
    s, rate, seconds = rig.settings, float(size["rate"]), float(size["seconds"])
    created = await paging_load.seed(rig.api_url, rig.tokens["admin"], rig.directory, f"{rig.receiver_url}")
    warm_s = await warm_up(rig)
    log(
        f"directory of {created} resources; a P2 of each of {len(rig.directory.service_ids())} services paged"
        f" within {warm_s} s"
    )
    runs: dict[str, Any] = {}
    for name, load in (("api", through_api), ("log", onto_log)):
        idle_s = await paging_observe.wait_idle(s.database_url, 1800)  # the previous run's pages all delivered
        await e2e.settle(s.database_url, s.events_topic, s.topic_partitions, SETTLE_GROUPS, 600)
        log(f"escalator idle after {idle_s} s, consumers caught up")
        log(f"run {name}: {rate:.0f} P2/s for {seconds:.0f} s")
        bound = functools.partial(load, rig, rate, seconds)
        runs[name] = await measure_run(rig, bound, size["grace_s"], profile if name == "api" else None)
        log(f"run {name}: {json.dumps({k: v for k, v in runs[name].items() if k not in ('cpu', 'per_second')})}")
    return {"rate": rate, "seconds": seconds, "directory": size, "directory_resources": created} | runs


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def run_alone(size: dict[str, Any], profile: Path | None = None) -> dict[str, Any]:
    """The measurement on its own fresh bench stack, with its own receiver."""
    port = free_port()
    receiver = subprocess.Popen([sys.executable, "-m", "bench.paging_receiver", "--port", str(port)], cwd=ROOT)
    with bench_stack(partitions=12):
        api_url = f"http://127.0.0.1:{PORTS['command-api']}"
        env = {"INCIDENTS_PAGE_LINK_KEYS": f"bench:{secrets.token_hex(32)}", "INCIDENTS_PUBLIC_URL": api_url}
        services = [
            Service("projector", PORTS["projector"]),
            Service("escalator", PORTS["escalator"], env=env | {"INCIDENTS_POLICY_FILE": str(POLICY)}),
            Service("command-api", PORTS["command-api"], env=env),
        ]
        try:
            for svc in services:
                svc.start()
            pids = {svc.name: svc.process.pid for svc in services if svc.process is not None}
            pids |= {"receiver": receiver.pid, "bench": os.getpid()}
            rest = {name: rss_mb(pid) for name, pid in pids.items()}
            directory = Directory(size["teams"], size["users"], size["services"])
            rig = Rig(api_url, f"http://127.0.0.1:{port}", tokens(), CommonSettings(), pids, directory)
            result = asyncio.run(measure(rig, size, profile))
            result["rss_mb"] = {n: {"rest": rest[n], "load": rss_mb(p)} for n, p in pids.items()}
            return result
        finally:
            for svc in reversed(services):
                svc.stop()
            receiver.terminate()
            receiver.wait(10)


# What each P2 leaves armed after its first page (kind:step; a page's step is its contact method's index): the SLA
# breaches, the policy's levels 2 and 3, and the second contact method. Nothing else may be pending.
PER_INCIDENT = {"ack_breach:0": 1, "page:1": 1, "resolve_breach:0": 1, "step:2": 1, "step:3": 1}


def for_report(quick: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """Results and notes for bench/run.py: the `paging_*` keys and a row `rss_mb.escalator-paging`."""
    m = run_alone(QUICK if quick else FULL)
    api, direct = m["api"], m["log"]
    results: dict[str, Any] = {
        "paging": m,
        "paging_pages_per_s": api["pages_rate"]["per_s"],
        "paging_logged_per_s": api["logged_rate"]["per_s"],
        "paging_logged_to_paged_p99_ms": api["logged_to_paged_ms"]["p99"],
        "paging_logged_to_delivered_p99_ms": api["logged_to_delivered_ms"]["p99"],
        "paging_log_direct_pages_per_s": direct["pages_rate"]["per_s"],
        "paging_pending_timers": sum(api["pending_timers"].values()),
        "paging_timers_as_armed": api["overdue_timers"] == 0
        and api["pending_timers"] == {kind: n * api["incidents"] for kind, n in PER_INCIDENT.items()},
        "rss_mb": {"escalator-paging": m["rss_mb"]["escalator"]},
    }
    if quick:  # the rows are about 1,000/s; the quick run's figures are in `paging` and the notes
        results = {key: value for key, value in results.items() if not key.startswith("paging_")}
    return results, _notes(m, quick)


def _notes(m: dict[str, Any], quick: bool) -> dict[str, str]:
    api, direct, mode = m["api"], m["log"], "quick mode: " if quick else ""
    offered = f"{m['rate']:,.0f} P2/s offered for {m['seconds']:.0f} s"

    def run(r: dict[str, Any]) -> str:
        late, done = r["logged_to_delivered_ms"], "all" if r["all_delivered"] else "NOT all"
        return (
            f"{r['incidents']:,} incidents at {r['logged_rate']['per_s']:,.0f}/s on the log, pages"
            f" {r['pages_rate']['per_s']:,.0f}/s (whole seconds: median {r['pages_rate']['median_1s']:,.0f},"
            f" peak {r['pages_rate']['peak_1s']:,.0f}), {done} delivered; logged -> paged p50"
            f" {r['logged_to_paged_ms']['p50']:,.0f} ms; -> delivered p50 {late['p50']:,.0f} ms,"
            f" p99 {late['p99']:,.0f} ms"
        )

    pending = ", ".join(f"{k} {v:,}" for k, v in api["pending_timers"].items())
    return {
        "paging_pages_per_s": f"{mode}{offered} to POST /v1/incidents (open loop, respond-async): {run(api)}",
        "paging_logged_per_s": f"API p50 {api['load']['api_p50_ms']:,.0f} ms, p99 {api['load']['api_p99_ms']:,.0f} ms"
        f" from due to 202; {api['load']['errors']} errors",
        "paging_logged_to_delivered_p99_ms": "from the incident.logged record to the receiver (issue 15: within 5 s)",
        "paging_log_direct_pages_per_s": f"{mode}the same {offered} straight onto the log, no API: {run(direct)}",
        "paging_pending_timers": f"after the api run, by kind:step: {pending}; {api['overdue_timers']} overdue;"
        f" outbox {api['outbox']}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"small sizes: {QUICK}")
    parser.add_argument("--rate", type=float)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--py-spy", type=Path, help="write py-spy raw stacks of the escalator during the api run")
    args = parser.parse_args()
    if args.py_spy and not PY_SPY.exists():
        parser.error(f"{PY_SPY} is missing: .venv/bin/pip install -c constraints.txt py-spy")
    size = (QUICK if args.quick else FULL) | {k: v for k, v in (("rate", args.rate), ("seconds", args.seconds)) if v}
    print(json.dumps(run_alone(size, args.py_spy), indent=2))


if __name__ == "__main__":
    main()
