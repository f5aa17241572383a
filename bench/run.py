"""`make bench`: every measurement on a fresh local stack, written to bench/results and BENCHMARKS.md.

python -m bench.run [--quick] [--suites oncall,paging]
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from typing import Any

import httpx

from bench import (
    api_load,
    backlog,
    catchup,
    console,
    console_reports,
    e2e,
    kafka_raw,
    oncall,
    paging,
    report,
    stream,
    timers,
)
from bench.cpu import CpuMeter
from bench.login_limits import for_report as login_limits_for_report
from bench.notes import for_report as notes_for_report
from bench.stack import CRUD_PORT, STATE, bench_stack, rss_mb, service, tokens
from tests.integration.services import ROOT, Service

FULL = {"raw_events": 200_000, "backlog": 1_000_000, "wrk_s": 15, "open_s": 15, "copy_rows": 200_000}
QUICK = {"raw_events": 10_000, "backlog": 20_000, "wrk_s": 4, "open_s": 3, "copy_rows": 10_000}
SEED_INCIDENTS = 200
SETTLE_GROUPS = ("projector", "escalator")


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


async def seed(url: str, token: str) -> list[str]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        answers = await asyncio.gather(
            *(
                client.post(
                    "/v1/incidents",
                    json={"title": f"seed {n}", "service": "checkout"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                for n in range(SEED_INCIDENTS)
            )
        )
    return [a.json()["incident_id"] for a in answers if a.status_code == 201]


def wrk_both(url: str, token: str, ids: list[str], seconds: int, pids: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {"cpu": {}}
    meter = CpuMeter(pids, STATE)
    for key, prefer in (("api_verdict_rps", ""), ("api_async_rps", "respond-async")):
        settle()
        script = api_load.write_script(token, ids, prefer)
        before, started = meter.start(), time.perf_counter()
        result = api_load.run_wrk(url, script, seconds)
        out["cpu"][key] = meter.since(before, time.perf_counter() - started, result.requests)
        out[key] = round(result.rps, 1)
        out[f"{key}_non_2xx"] = result.non_2xx
        log(f"{key} = {result.rps:.0f} ({result.non_2xx} non-2xx of {result.requests}); cpu {out['cpu'][key]}")
    out["rss_load"] = {name: rss_mb(pid) for name, pid in pids.items()}
    return out


def settle() -> None:
    """Let the projector and the escalator finish the previous run's events before the next run starts."""
    from incidents_shared.kafka import verify_log_topic
    from incidents_shared.settings import CommonSettings

    settings = CommonSettings()
    partitions = asyncio.run(verify_log_topic(settings))
    took, end = asyncio.run(e2e.settle(settings.database_url, settings.events_topic, partitions, SETTLE_GROUPS, 1800))
    log(f"consumers caught up with {end} records on {partitions} partitions after {took:.1f} s")


def open_loops(url: str, token: str, ids: list[str], seconds: int, pids: dict[str, int]) -> dict[str, Any]:
    """Latency at fixed offered rates, from a generator in its own process (bench/openloop.py)."""
    out: dict[str, Any] = {}
    meter = CpuMeter(pids, STATE)
    settle()
    before, started = meter.start(), time.perf_counter()
    fixed = asyncio.run(e2e.latency(url, token, ids, 1000, seconds))
    out["cpu_at_1000rps"] = meter.since(before, time.perf_counter() - started, fixed["sent"])
    out["api_p50_ms_at_1000rps"], out["api_p99_ms_at_1000rps"] = fixed["p50_ms"], fixed["p99_ms"]
    out["api_at_1000rps"] = fixed
    log(f"at 1000 rps: {fixed}")
    settle()
    flow = asyncio.run(e2e.measure(url, os.environ["INCIDENTS_DATABASE_URL"], token, ids, 500, seconds))
    out["e2e_p99_ms_at_500rps"], out["e2e_p50_ms_at_500rps"] = flow["p99_ms"], flow["p50_ms"]
    out["e2e_at_500rps"] = flow
    log(f"e2e at 500 rps: {flow}")
    return out


def crud_rps(token: str, ids_count: int, seconds: int) -> float:
    env = {**os.environ, "CRUD_PORT": str(CRUD_PORT)}
    proc = subprocess.Popen([sys.executable, "-m", "bench.crud_baseline"], cwd=ROOT, env=env)
    try:
        url = f"http://127.0.0.1:{CRUD_PORT}"
        for _ in range(100):
            try:
                httpx.get(f"{url}/docs", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        with httpx.Client(base_url=url, timeout=30) as client:
            ids = [
                client.post(
                    "/v1/incidents",
                    json={"title": "seed", "service": "checkout"},
                    headers={"Authorization": f"Bearer {token}"},
                ).json()["incident_id"]
                for _ in range(ids_count)
            ]
        result = api_load.run_wrk(url, api_load.write_script(token, ids, ""), seconds)
        log(f"crud_baseline_rps = {result.rps:.0f} ({result.non_2xx} non-2xx)")
        return round(result.rps, 1)
    finally:
        proc.terminate()
        proc.wait(10)


async def measure(size: dict[str, int]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    bootstrap, database_url = os.environ["INCIDENTS_KAFKA_BOOTSTRAP"], os.environ["INCIDENTS_DATABASE_URL"]
    from incidents_shared.kafka import ensure_topics
    from incidents_shared.settings import CommonSettings

    await ensure_topics(CommonSettings())
    admin_raw = "bench.raw.v1"
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(admin_raw, 12, 1)])
    await admin.close()
    results["kafka_raw_eps"] = round(await kafka_raw.measure(bootstrap, admin_raw, size["raw_events"]), 1)
    log(f"kafka_raw_eps = {results['kafka_raw_eps']:.0f}")

    produced = await backlog.produce(bootstrap, CommonSettings().events_topic, size["backlog"])
    log(f"backlog of {produced} events on the log; catching up with one projector process per CPU")
    # The projector is a consumer group: first one process per core (how it scales on this machine), then, on
    # the same backlog, the one process `make run` starts, which stays running for the rest of the bench.
    scaled = await catchup.catch_up(database_url, produced, os.cpu_count() or 1)
    scaled.stop()
    log(f"projector catch-up: {scaled.summary()}")
    await catchup.reset(database_url)
    single = await catchup.catch_up(database_url, produced, 1)
    log(f"projector catch-up: {single.summary()}")
    projector = single.running[0]
    results["projector_eps"] = round(scaled.eps, 1)
    results["projector_eps_one_process"] = round(single.eps, 1)
    results["projector_backlog_events"] = produced
    results["projector_catch_up"] = {"scaled": scaled.summary(), "one_process": single.summary()}
    results["_notes"] = {
        "projector_eps": f"{scaled.processes} processes (one per CPU) in one consumer group, 1,000,000-event backlog"
        if produced >= 1_000_000
        else f"{scaled.processes} processes (one per CPU), {produced} events (quick mode)",
        "projector_eps_one_process": "the same backlog, one process (what `make run` starts)",
        "copy_ceiling_rps": "incident_events rows only, one COPY into a table like it",
        "copy_ceiling_all_rows_eps": "every row the projector writes for those events (events, verdicts, notes,"
        " incident states), raw COPY",
    }
    results["copy_ceiling_rps"] = round(await backlog.copy_ceiling(database_url, size["copy_rows"]), 1)
    all_rows = await backlog.copy_ceiling_all_rows(database_url, size["copy_rows"])
    results["copy_ceiling_all_rows_eps"] = round(all_rows, 1)
    log(f"projector_eps = {results['projector_eps']:.0f}, copy_ceiling_rps = {results['copy_ceiling_rps']:.0f}")
    results["rebuild_s"], results["rebuild_events"] = rebuild_seconds(), produced
    log(f"rebuild of {produced} events: {results['rebuild_s']:.1f} s")
    return results | {"_projector": projector}


def rebuild_seconds() -> float:
    """`incidentctl rebuild` over the whole log beside the live projector, swap included."""
    started = time.perf_counter()
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "incidentctl"), "rebuild"],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return round(time.perf_counter() - started, 1)


SUITES = {"oncall": oncall.for_report, "paging": paging.for_report, "stream": stream.for_report}  # each on its own
SUITES["notes"] = notes_for_report  # an incident with 10,000 notes (decision 0091)
SUITES["console"] = console.for_report  # the queue page against its 200 ms budget (decision 0088)
SUITES["console-reports"] = console_reports.for_report  # the reports page over 1,000 incidents (decision 0086)
SUITES["login-limits"] = login_limits_for_report  # what the failed-login check costs a request (decision 0089)


def suites_only(names: list[str], quick: bool) -> None:
    """Only the named suites, as in the full run (the paging benchmark on its own fresh stack), recorded as
    bench/results/<stamp>-<names>.json; BENCHMARKS.md's table is left to full runs."""
    probe = report.speed_probe()
    results: dict[str, Any] = {"rss_mb": {}}
    notes: dict[str, str] = {}
    for name in names:
        measured, said = SUITES[name](quick)
        results["rss_mb"] |= measured.pop("rss_mb", {})
        results.update(measured)
        notes.update(said)
    results["speed_probe_s"] = {"start": probe, "end": report.speed_probe()}
    path = report.save(results, notes, quick, suites=names)
    log(f"recorded {path.relative_to(ROOT)}")
    print(report.table(json.loads(path.read_text())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run with small sizes (CI)")
    parser.add_argument(
        "--only-api", action="store_true", help="only the HTTP measurements, printed; nothing recorded (for profiling)"
    )
    parser.add_argument(
        "--suites", help=f"only these suites, comma-separated ({', '.join(SUITES)}); recorded on their own"
    )
    args = parser.parse_args()
    if args.suites:
        names = args.suites.split(",")
        if unknown := sorted(set(names) - set(SUITES)):
            parser.error(f"unknown suites {unknown}; known: {', '.join(SUITES)}")
        suites_only(names, args.quick)
        return
    size = QUICK if args.quick else FULL
    probe_start = report.speed_probe()
    log(f"speed probe: {probe_start} s")
    # Pure CPU, before any stack runs (bench/oncall.py); not wanted by --only-api.
    resolved, oncall_notes = ({}, {}) if args.only_api else oncall.for_report(args.quick)
    log(f"who is on call: {resolved.get('oncall')}")
    notes = {
        "api_p99_ms_at_1000rps": "open loop, own process (bench/openloop.py), latency from when each request was due",
        "e2e_p99_ms_at_500rps": "due -> NOTIFY of the verdict, open loop, Prefer: respond-async",
        "api_verdict_rps": "wrk -t2 -c64, 20% new incidents / 80% notes",
    }
    with bench_stack(partitions=12):
        if args.only_api:
            results: dict[str, Any] = {"_projector": service("projector")}
            results["_projector"].start()
        else:
            results = asyncio.run(measure(size))
        projector: Service = results.pop("_projector")
        others = [service("escalator"), service("command-api")]
        try:
            for svc in others:
                svc.start()
            pids = {s.name: s.process.pid for s in (projector, *others) if s.process is not None}
            rest = {name: rss_mb(pid) for name, pid in pids.items()}
            token = tokens()["manager"]
            url = others[1].url
            ids = asyncio.run(seed(url, token))
            load = wrk_both(url, token, ids, size["wrk_s"], pids)
            results.update({k: v for k, v in load.items() if k not in ("rss_load", "cpu")})
            results["rss_mb"] = {n: {"rest": rest[n], "load": load["rss_load"][n]} for n in pids}
            opened = open_loops(url, token, ids, size["open_s"], pids)
            results["cpu_ms_per_request"] = {
                "api_verdict_rps": load["cpu"]["api_verdict_rps"],
                "api_async_rps": load["cpu"]["api_async_rps"],
                "api_at_1000rps": opened.pop("cpu_at_1000rps"),
            }
            results.update(opened)
        finally:
            for svc in (*others, projector):
                svc.stop()
        if args.only_api:
            print(json.dumps(results, indent=1))
            return
        results["crud_baseline_rps"] = crud_rps(token, SEED_INCIDENTS, size["wrk_s"])
        notes.update(results.pop("_notes", {}))
    timed, timer_notes = timers.for_report(args.quick)  # on its own fresh stack: bench/timers.py
    results["rss_mb"] = results.get("rss_mb", {}) | timed.pop("rss_mb")
    results.update(timed)
    notes.update(timer_notes)
    paged, paging_notes = paging.for_report(args.quick)  # on its own fresh stack: bench/paging.py
    results["rss_mb"] |= paged.pop("rss_mb")
    results.update(paged | resolved)
    notes.update(paging_notes | oncall_notes)
    if results.get("rebuild_events", 0) >= 1_000_000:
        results["rebuild_1m_s"] = results["rebuild_s"]
    else:
        notes["rebuild_1m_s"] = (
            f"quick mode: rebuild of {results.get('rebuild_events')} events took {results.get('rebuild_s')} s"
        )
    results["speed_probe_s"] = {"start": probe_start, "end": report.speed_probe()}
    path = report.save(results, notes, args.quick)
    document = json.loads(path.read_text())
    if not args.quick:
        report.update_markdown(document)
    print(report.table(document))


if __name__ == "__main__":
    main()
