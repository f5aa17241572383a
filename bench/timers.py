"""Timer lateness: N open incidents whose acknowledge SLA runs out within one window; how late the escalator's
`incident.sla_breached` events reach the log.

The incidents are `incident.logged` events decided and encoded like the API does, logged ten minutes (the bench
policy's acknowledge target) before their due times, which are spread evenly over `window_s` starting `lead_s`
after the run starts. The escalator (real clock, policy bench/policies/timers.yaml) and the projector run live
while the backlog is produced: the escalator sets the targets itself (`incident.sla_targets_set`), arms an
acknowledge and a resolve timer per incident, and must have armed them all before the first one is due.

Lateness, per timer, in ms: when a reader tailing the log received the `incident.sla_breached` event minus its
`due_at` (`on_log`, the figure reported); also the record's Kafka timestamp (set when the escalator handed it to its
producer) and the escalator's own `fired_at` (after the log acknowledged), each minus `due_at`.

python -m bench.timers [--quick] [--timers N] [--window-s S] [--lead-s S] [--py-spy OUT]   (its own bench stack)
"""

import argparse
import asyncio
import json
import math
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.kafka_raw import ACTOR, WINDOW
from bench.stack import PORTS, STATE, bench_stack, rss_mb, service
from incidents_shared.domain import commands as c
from incidents_shared.domain.codec import canonical_bytes
from incidents_shared.domain.decide import decide
from incidents_shared.settings import CommonSettings
from tests.integration.services import Service

POLICY = Path(__file__).resolve().parent / "policies" / "timers.yaml"
ACKNOWLEDGE = timedelta(minutes=10)  # the bench policy's acknowledge target
BREACHED = b"incident.sla_breached"
GRACE_S = 120.0  # how long after the last due time the reader waits for missing events
FULL = {"timers": 100_000, "window_s": 60.0, "lead_s": 200.0}
QUICK = {"timers": 2_000, "window_s": 10.0, "lead_s": 20.0}

PY_SPY = Path(sys.executable).parent / "py-spy"


@dataclass(frozen=True)
class Plan:
    timers: int
    window_s: float
    first_due: datetime

    def due(self, n: int) -> datetime:
        return self.first_due + timedelta(seconds=self.window_s * n / self.timers)

    @property
    def last_due(self) -> datetime:
        return self.due(self.timers - 1)

    @property
    def rate(self) -> float:
        return self.timers / self.window_s


@dataclass(frozen=True)
class Seen:
    due_at: datetime
    on_log: datetime  # when the tailing reader received it
    stamped: datetime  # the record's Kafka timestamp (CreateTime)


def log(message: str) -> None:
    print(f"bench.timers: {message}", file=sys.stderr, flush=True)


def logged(due: datetime) -> tuple[bytes, bytes]:
    """One `incident.logged` whose acknowledge target under the bench policy is `due`."""
    meta = c.CommandMeta(
        incident_id=uuid.uuid4(), command_id=uuid.uuid4(), actor=ACTOR, now=due - ACKNOWLEDGE, correlation_id="bench"
    )
    command = c.LogIncident(title="Disk full on db-7", service="billing", impact="medium", urgency="high")
    [event] = decide(None, command, meta)
    return str(meta.incident_id).encode(), canonical_bytes(event)


def chunks(plan: Plan) -> Iterator[list[tuple[bytes, bytes]]]:
    for start in range(0, plan.timers, WINDOW):
        yield [logged(plan.due(n)) for n in range(start, min(start + WINDOW, plan.timers))]


async def produce(bootstrap: str, topic: str, plan: Plan) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        for chunk in chunks(plan):
            await asyncio.gather(*[await producer.send(topic, value, key=key) for key, value in chunk])
    finally:
        await producer.stop()


async def wait_armed(database_url: str, plan: Plan) -> bool:
    """Until every acknowledge timer is armed and no `sla_targets_set` is left to append, or the first one is due."""
    conn = await asyncpg.connect(database_url)
    try:
        while datetime.now(UTC) < plan.first_due - timedelta(seconds=1):
            row = await conn.fetchrow(
                "SELECT count(*) FILTER (WHERE kind = 'ack_breach') AS armed,"
                " count(*) FILTER (WHERE kind = 'targets' AND status = 'pending') AS targets FROM escalator_timers"
            )
            assert row is not None
            if row["armed"] >= plan.timers and row["targets"] == 0:
                return True
            await asyncio.sleep(0.5)
        return False
    finally:
        await conn.close()


class Tail:
    """Reads the log from its current end and keeps the `incident.sla_breached` events, stamped on receipt."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50)
        self.seen: dict[str, Seen] = {}

    async def start(self) -> None:
        await self.consumer.start()
        partitions = [TopicPartition(self.topic, p) for p in range(CommonSettings().topic_partitions)]
        self.consumer.assign(partitions)
        await self.consumer.seek_to_end(*partitions)
        for tp in partitions:
            await self.consumer.position(tp)

    async def collect(self, count: int, until: datetime) -> None:
        try:
            while len(self.seen) < count and datetime.now(UTC) < until:
                batches = await self.consumer.getmany(timeout_ms=200, max_records=5_000)
                received = datetime.now(UTC)
                for record in (r for records in batches.values() for r in records):
                    if dict(record.headers).get("type") == BREACHED and record.value is not None:
                        event = json.loads(record.value)
                        due = datetime.fromisoformat(event["data"]["due_at"])
                        stamped = datetime.fromtimestamp(record.timestamp / 1000, UTC)
                        self.seen.setdefault(event["event_id"], Seen(due, received, stamped))
        finally:
            await self.consumer.stop()


async def sample_rss(pid: int, stop: asyncio.Event) -> float:
    peak = 0.0
    while not stop.is_set():
        peak = max(peak, rss_mb(pid))
        await asyncio.sleep(0.5)
    return peak


def cpu_s(pid: int) -> float:
    """User + system CPU seconds the process has used so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stack_pids(escalator: int, projector: int) -> dict[str, list[int]]:
    """The processes of the stack under test; PostgreSQL is the postmaster and its backends."""
    postmaster = int((STATE / "pg" / "data" / "postmaster.pid").read_text().split()[0])
    backends = [int(p.parent.name) for p in Path("/proc").glob("[0-9]*/stat") if _parent(p) == postmaster]
    kafka = int((STATE / "kafka" / "kafka.pid").read_text().split()[0])
    return {"escalator": [escalator], "projector": [projector], "postgres": [postmaster, *backends], "kafka": [kafka]}


def _parent(stat: Path) -> int:
    try:
        return int(stat.read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def machine_busy_s() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, every core and every agent on it."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]
    hz = os.sysconf("SC_CLK_TCK")
    return (sum(ticks) - idle) / hz, sum(ticks) / hz


class CpuMeter:
    """CPU used per process group and by the whole machine between start() and stop(), in cores."""

    def __init__(self, pids: dict[str, list[int]]) -> None:
        self.pids = pids

    def _read(self) -> tuple[dict[str, float], tuple[float, float], float]:
        used = {name: sum(cpu_s(p) for p in pids) for name, pids in self.pids.items()}
        return used, machine_busy_s(), time.perf_counter()

    def start(self) -> None:
        self.before = self._read()

    def stop(self) -> dict[str, float]:
        (used0, (busy0, total0), t0), (used1, (busy1, total1), t1) = self.before, self._read()
        cores = {name: round((used1[name] - used0[name]) / (t1 - t0), 2) for name in used0}
        return cores | {"machine_busy": round((busy1 - busy0) / (total1 - total0) * (os.cpu_count() or 1), 2)}


async def fired_lateness(database_url: str) -> list[float]:
    """The escalator's own view: fired_at (after the log acknowledged) minus due_at, ms."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT extract(epoch FROM fired_at - due_at) * 1000 AS ms FROM escalator_timers"
            " WHERE kind = 'ack_breach' AND status = 'fired'"
        )
        return [float(r["ms"]) for r in rows]
    finally:
        await conn.close()


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def pct(p: float) -> float:
        return round(ordered[max(math.ceil(p / 100 * len(ordered)) - 1, 0)], 1) if ordered else math.nan

    return {"p50": pct(50), "p99": pct(99), "max": pct(100)}


def ms(delta: timedelta) -> float:
    return delta.total_seconds() * 1000


def py_spy(pid: int, out: Path | None) -> subprocess.Popen[bytes] | None:
    """Sample the escalator (collapsed stacks, without pausing it) while the timers fire; SIGINT writes `out`."""
    if out is None:
        return None
    command = [str(PY_SPY), "record", "--pid", str(pid), "--nonblocking", "--format", "raw", "--output", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_py_spy(profiler: subprocess.Popen[bytes] | None) -> None:
    if profiler is not None:
        profiler.send_signal(signal.SIGINT)
        profiler.wait(60)


async def measure(
    bootstrap: str,
    database_url: str,
    topic: str,
    escalator_pid: int,
    projector_pid: int,
    timers: int,
    window_s: float,
    lead_s: float,
    profile: Path | None = None,
) -> dict[str, Any]:
    """Produce the incidents, wait until their timers are armed, and watch them fire. The escalator runs already.

    With `profile`, py-spy samples the escalator from the first due time until the last event was read (raw stacks)."""
    plan = Plan(timers, window_s, datetime.now(UTC) + timedelta(seconds=lead_s))
    started = time.perf_counter()
    await produce(bootstrap, topic, plan)
    produced_s = time.perf_counter() - started
    log(f"{timers} incidents on the log in {produced_s:.1f} s; waiting for the escalator to arm their timers")
    in_time = await wait_armed(database_url, plan)
    armed_s, slack_s = time.perf_counter() - started, (plan.first_due - datetime.now(UTC)).total_seconds()
    rss_armed = rss_mb(escalator_pid)
    log(f"armed: {in_time} after {armed_s:.1f} s, {slack_s:.1f} s before the first due time; rss {rss_armed} MB")
    tail = Tail(bootstrap, topic)
    await tail.start()
    await asyncio.sleep(max((plan.first_due - datetime.now(UTC)).total_seconds(), 0))
    stop = asyncio.Event()
    peak = asyncio.create_task(sample_rss(escalator_pid, stop))
    meter = CpuMeter(stack_pids(escalator_pid, projector_pid))
    profiler, firing_started = py_spy(escalator_pid, profile), time.perf_counter()
    meter.start()
    try:
        await tail.collect(timers, plan.last_due + timedelta(seconds=GRACE_S))
    finally:
        firing_s, cores = time.perf_counter() - firing_started, meter.stop()
        stop_py_spy(profiler)
    stop.set()
    seen = list(tail.seen.values())
    missing = timers - len(seen)
    give_up = plan.last_due + timedelta(seconds=GRACE_S)
    on_log = [ms(s.on_log - s.due_at) for s in seen] + [ms(give_up - plan.last_due)] * missing  # lower bounds
    result = {
        "timers": timers,
        "fired": len(seen),
        "missing": missing,
        "window_s": window_s,
        "due_rate_per_s": round(plan.rate, 1),
        "armed_before_first_due": in_time,
        "armed_s": round(armed_s, 1),
        "slack_before_first_due_s": round(slack_s, 1),
        "lateness_ms_on_log": summary(on_log),
        "lateness_ms_kafka_timestamp": summary([ms(s.stamped - s.due_at) for s in seen]),
        "lateness_ms_escalator_fired_at": summary(await fired_lateness(database_url)),
        "firing_s": round(firing_s, 1),
        "cpu_cores_while_firing": cores,  # CPU seconds per second (1.0 = one core), machine_busy: every process
        "load_average": round(os.getloadavg()[0], 2),
        "escalator_rss_mb": {"armed": rss_armed, "firing_peak": await peak, "after": rss_mb(escalator_pid)},
    }
    log(json.dumps(result))
    return result


def run_alone(timers: int, window_s: float, lead_s: float, profile: Path | None = None) -> dict[str, Any]:
    """The measurement on its own fresh bench stack: projector and escalator (bench policy) running, no API."""
    with bench_stack(partitions=12) as env:
        projector = service("projector")
        escalator = Service("escalator", PORTS["escalator"], env={"INCIDENTS_POLICY_FILE": str(POLICY)})
        try:
            projector.start()
            escalator.start()
            assert escalator.process is not None
            assert projector.process is not None
            pid = escalator.process.pid
            time.sleep(2)
            rest = rss_mb(pid)
            result = asyncio.run(
                measure(
                    env["INCIDENTS_KAFKA_BOOTSTRAP"],
                    env["INCIDENTS_DATABASE_URL"],
                    CommonSettings().events_topic,
                    pid,
                    projector.process.pid,
                    timers,
                    window_s,
                    lead_s,
                    profile,
                )
            )
            result["escalator_rss_mb"]["rest"] = rest
            return result
        finally:
            escalator.stop()
            projector.stop()


def for_report(quick: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """Results and notes for bench/run.py: the `timer_lateness_*` keys and a row `rss_mb.escalator-timers`."""
    size = QUICK if quick else FULL
    m = run_alone(int(size["timers"]), size["window_s"], size["lead_s"])
    late, rss = m["lateness_ms_on_log"], m["escalator_rss_mb"]
    results: dict[str, Any] = {
        "timer_lateness": m,
        "timer_lateness_p50_ms": late["p50"],
        "timer_lateness_p99_ms": late["p99"],
        "timer_lateness_max_ms": late["max"],
        "timers_fired": m["fired"],
        "rss_mb": {"escalator-timers": {"rest": rss["rest"], "load": rss["firing_peak"]}},
    }
    if m["timers"] == 100_000:
        results["timer_lateness_p99_ms_100k"] = late["p99"]
    note = (
        f"{m['timers']:,} timers due over {m['window_s']:.0f} s ({m['due_rate_per_s']:,.0f}/s); due -> event read from"
        f" the log; p50 {late['p50']:,.0f} ms, p99 {late['p99']:,.0f} ms, max {late['max']:,.0f} ms;"
        f" {m['fired']:,} fired, {m['missing']} missing;"
        f" escalator RSS {rss['armed']} MB armed, {rss['firing_peak']} MB firing"
    )
    if not m["armed_before_first_due"]:
        note += "; NOT all armed before the first due time"
    return results, {"timer_lateness_p99_ms_100k": ("" if m["timers"] == 100_000 else "quick mode: ") + note}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"small sizes: {QUICK}")
    parser.add_argument("--timers", type=int)
    parser.add_argument("--window-s", type=float)
    parser.add_argument("--lead-s", type=float)
    parser.add_argument("--py-spy", type=Path, help="write py-spy raw stacks of the escalator while timers fire")
    args = parser.parse_args()
    if args.py_spy and not PY_SPY.exists():
        parser.error(f"{PY_SPY} is missing: .venv/bin/pip install -c constraints.txt py-spy")
    size = QUICK if args.quick else FULL
    timers = args.timers or int(size["timers"])
    window_s, lead_s = args.window_s or size["window_s"], args.lead_s or size["lead_s"]
    print(json.dumps(run_alone(timers, window_s, lead_s, args.py_spy), indent=2))


if __name__ == "__main__":
    main()
