"""bench/results/*.json and the table in BENCHMARKS.md."""

import hashlib
import json
import os
import platform
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
MARK_START, MARK_END = "<!-- bench:table:start -->", "<!-- bench:table:end -->"

# (key, unit, target as text, check against the results)
TARGETS: list[tuple[str, str, str, Any]] = [
    ("kafka_raw_eps", "events/s", "ceiling", None),
    (
        "api_verdict_rps",
        "req/s",
        ">= 2000 and >= crud_baseline_rps",
        lambda r: r["api_verdict_rps"] >= 2000 and r["api_verdict_rps"] >= r["crud_baseline_rps"],
    ),
    ("api_async_rps", "req/s", ">= 5000", lambda r: r["api_async_rps"] >= 5000),
    ("api_p50_ms_at_1000rps", "ms", "", None),
    ("api_p99_ms_at_1000rps", "ms", "<= 50", lambda r: r["api_p99_ms_at_1000rps"] <= 50),
    ("e2e_p99_ms_at_500rps", "ms", "<= 100", lambda r: r["e2e_p99_ms_at_500rps"] <= 100),
    (
        "projector_eps",
        "events/s",
        ">= 0.5 x copy_ceiling_rps",
        lambda r: r["projector_eps"] >= 0.5 * r["copy_ceiling_rps"],
    ),
    ("projector_eps_one_process", "events/s", "", None),
    ("copy_ceiling_rps", "rows/s", "ceiling", None),
    (
        "copy_ceiling_all_rows_eps",
        "events/s",
        "ceiling; projector_eps >= 0.5 x this",
        lambda r: r["projector_eps"] >= 0.5 * r["copy_ceiling_all_rows_eps"],
    ),
    ("rebuild_1m_s", "s", "<= 60", lambda r: r["rebuild_1m_s"] <= 60),
    ("timer_lateness_p99_ms_100k", "ms", "<= 1000", lambda r: r["timer_lateness_p99_ms_100k"] <= 1000),
    ("crud_baseline_rps", "req/s", "baseline", None),
    ("oncall_lookup_median_us", "us", "", None),
    ("oncall_lookup_p99_us", "us", "", None),
    ("paging_pages_per_s", "pages/s", ">= 1000", lambda r: r["paging_pages_per_s"] >= 1000),
    ("paging_logged_per_s", "incidents/s", "", None),
    ("paging_logged_to_paged_p99_ms", "ms", "", None),
    (
        "paging_logged_to_delivered_p99_ms",
        "ms",
        "<= 5000",
        lambda r: r["paging_logged_to_delivered_p99_ms"] <= 5000,
    ),
    ("paging_log_direct_pages_per_s", "pages/s", "ceiling (no API)", None),
    ("paging_pending_timers", "timers", "5 per incident, none overdue", lambda r: r["paging_timers_as_armed"]),
]


def speed_probe(rounds: int = 3) -> float:
    """Seconds for a fixed single-core workload (pure-Python loop and sha256), best of `rounds`: the same figure
    on an idle machine tells how fast this machine was at that moment, so runs an hour apart can be compared
    (the host's speed was seen to vary by a third)."""
    best = float("inf")
    block = b"x" * (1 << 20)
    for _ in range(rounds):
        started = time.perf_counter()
        total = 0
        for i in range(10_000_000):
            total += i & 7
        digest = hashlib.sha256()
        for _ in range(256):
            digest.update(block)
        best = min(best, time.perf_counter() - started)
    return round(best, 3)


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT, check=False
    ).stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "commit": commit,
    }


def save(results: dict[str, Any], notes: dict[str, str], quick: bool, suites: list[str] | None = None) -> Path:
    """bench/results/<stamp>.json and latest(-quick).json; a run of some suites only (`suites`) is kept as
    <stamp>-<suites>.json and leaves latest alone."""
    now = datetime.now(UTC)
    document = {"machine": machine(), "when": now.isoformat(), "quick": quick, "results": results, "notes": notes}
    if suites:
        document["suites"] = suites
    RESULTS.mkdir(parents=True, exist_ok=True)
    tail = "".join(f"-{name}" for name in suites or []) + ("-quick" if quick else "")
    path = RESULTS / f"{now.strftime('%Y%m%dT%H%M%SZ')}{tail}.json"
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    path.write_text(text)
    if not suites:
        (RESULTS / ("latest-quick.json" if quick else "latest.json")).write_text(text)
    return path


def _verdict(check: Any, results: dict[str, Any]) -> str:
    if check is None:
        return ""
    try:
        return "holds" if check(results) else "**misses**"
    except (KeyError, TypeError):
        return "not measured"


def table(document: dict[str, Any]) -> str:
    results, notes = document["results"], document.get("notes", {})
    rows = ["| measurement | value | unit | target | status | note |", "|---|---:|---|---|---|---|"]
    for key, unit, target, check in TARGETS:
        value = results.get(key)
        if value is None and document.get("suites"):
            continue  # a run of some suites only: their rows
        shown = "—" if value is None else f"{value:,.1f}" if isinstance(value, float) else str(value)
        rows.append(f"| `{key}` | {shown} | {unit} | {target} | {_verdict(check, results)} | {notes.get(key, '')} |")
    rss = results.get("rss_mb", {})
    for name, figures in sorted(rss.items()):
        rows.append(
            f"| `rss_mb.{name}` | {figures.get('rest', '—')} / {figures.get('load', '—')} | MB | "
            "at rest / under load | | |"
        )
    rows += ["", *cpu_budget(results), *catch_up_budget(results), *paging_budget(results)]
    m = document["machine"]
    probe = results.get("speed_probe_s")
    speed = (
        f" Speed probe (a fixed single-core workload, lower is faster): {probe['start']} s before, {probe['end']} s"
        " after."
        if probe
        else ""
    )
    head = (
        f"Run {document['when']} on {m['cpus']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, Python {m['python']}, "
        f"commit {m['commit']}{' (quick mode)' if document.get('quick') else ''}"
        f"{'; suites ' + ', '.join(document['suites']) if document.get('suites') else ''}.{speed}"
    )
    return "\n".join([head, "", *rows])


CPU_PARTS = ("command-api", "projector", "escalator", "kafka", "postgres", "generator")


def cpu_budget(results: dict[str, Any]) -> list[str]:
    """Milliseconds of CPU per request by part, for each load run: where two cores go."""
    budget = results.get("cpu_ms_per_request", {})
    if not budget:
        return []
    rows = [
        "CPU per request (ms of CPU time, measured from /proc during the run; `machine` is all busy CPU, other",
        "processes included):",
        "",
        "| run | " + " | ".join(CPU_PARTS) + " | sum | machine | cores busy |",
        "|---|" + "---:|" * (len(CPU_PARTS) + 3),
    ]
    for run, figures in budget.items():
        per = figures["ms_per_request"]
        total = sum(per.get(part, 0.0) for part in CPU_PARTS)
        cells = " | ".join(f"{per.get(part, 0.0):.2f}" for part in CPU_PARTS)
        busy = figures["cores"].get("machine", 0.0)
        rows.append(f"| {run} | {cells} | {total:.2f} | {per.get('machine', 0.0):.2f} | {busy:.2f} |")
    return rows


CATCH_UP_PARTS = ("projector", "kafka", "postgres")


def catch_up_budget(results: dict[str, Any]) -> list[str]:
    """Microseconds of CPU per event by part while the projector caught up: what bounds projector_eps."""
    runs = results.get("projector_catch_up", {})
    if not runs:
        return []
    rows = [
        "",
        "CPU per event while the projector caught up with the backlog (us of CPU time per event, from /proc):",
        "",
        "| catch-up | processes | events/s | " + " | ".join(CATCH_UP_PARTS) + " | machine | cores busy |",
        "|---|---:|---:|" + "---:|" * (len(CATCH_UP_PARTS) + 2),
    ]
    for run, figures in runs.items():
        per = figures["cpu_us_per_event"]
        cells = " | ".join(f"{per.get(part, 0.0):.1f}" for part in CATCH_UP_PARTS)
        busy = figures["cores"].get("machine", 0.0)
        rows.append(
            f"| {run} | {figures['processes']} | {figures['eps']:,.0f} | {cells} | {per.get('machine', 0.0):.1f}"
            f" | {busy:.2f} |"
        )
    return rows


PAGING_PARTS = ("command-api", "projector", "escalator", "kafka", "postgres", "generator", "receiver", "bench")


def paging_budget(results: dict[str, Any]) -> list[str]:
    """Milliseconds of CPU per incident by part in the paging runs: where the time goes when paging."""
    runs = {name: results.get("paging", {}).get(name) for name in ("api", "log")}
    if not all(runs.values()):
        return []
    rows = [
        "",
        "CPU per incident in the paging runs (ms of CPU time per P2, from the load's start until every page was"
        " delivered; `generator` is bench/paging_load.py, `bench` the log reader and, in the `log` run, the producer):",
        "",
        "| run | incidents/s | " + " | ".join(PAGING_PARTS) + " | machine | cores busy |",
        "|---|---:|" + "---:|" * (len(PAGING_PARTS) + 2),
    ]
    for name, run in runs.items():
        per, busy = run["cpu"]["ms_per_request"], run["cpu"]["cores"].get("machine", 0.0)
        cells = " | ".join(f"{per.get(part, 0.0):.2f}" for part in PAGING_PARTS)
        rate = run["logged_rate"]["per_s"]
        rows.append(f"| {name} | {rate:,.0f} | {cells} | {per.get('machine', 0.0):.2f} | {busy:.2f} |")
    return rows


def update_markdown(document: dict[str, Any]) -> None:
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text()
    start, end = text.index(MARK_START) + len(MARK_START), text.index(MARK_END)
    path.write_text(text[:start] + "\n" + table(document) + "\n" + text[end:])
