"""What the paging benchmark measures on the log, at the receiver and in the escalator's tables.

On the log, a reader tails the events topic from its end and keeps, per incident, the record timestamp (Kafka
CreateTime: when the API's or the escalator's producer took the record, on this machine's clock) of its
`incident.logged` record and of its first `incident.paged` record, and when the reader received each. The
receiver (bench/paging_receiver.py) stamps every delivery on arrival with the same clock.
"""

import asyncio
import math
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

LOGGED, PAGED = b"incident.logged", b"incident.paged"


@dataclass
class Seen:
    stamped: float  # the record's CreateTime, s
    received: float  # when this reader had it, s


@dataclass
class LogWatch:
    """Tails the log from its current end: the `incident.logged` and first `incident.paged` of each incident."""

    bootstrap: str
    topic: str
    partitions: int
    logged: dict[str, Seen] = field(default_factory=dict)
    paged: dict[str, Seen] = field(default_factory=dict)
    pages: int = 0  # every incident.paged record, first or not

    async def start(self) -> None:
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50
        )
        await self.consumer.start()
        assigned = [TopicPartition(self.topic, p) for p in range(self.partitions)]
        self.consumer.assign(assigned)
        await self.consumer.seek_to_end(*assigned)
        for tp in assigned:
            await self.consumer.position(tp)
        self.task = asyncio.create_task(self._follow())

    async def _follow(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=200, max_records=5_000)
            received = time.time()
            for record in (r for records in batches.values() for r in records):
                kind = dict(record.headers).get("type")
                if kind not in (LOGGED, PAGED) or record.key is None:
                    continue
                seen = Seen(record.timestamp / 1000, received)
                if kind == LOGGED:
                    self.logged.setdefault(record.key.decode(), seen)
                else:
                    self.pages += 1
                    self.paged.setdefault(record.key.decode(), seen)

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.consumer.stop()

    def unpaged(self) -> int:
        return sum(1 for incident in self.logged if incident not in self.paged)


async def receiver_count(url: str) -> int:
    async with httpx.AsyncClient(timeout=30) as client:
        return int((await client.get(f"{url}/count")).text)


async def first_deliveries(url: str, incidents: set[str]) -> tuple[dict[str, float], int]:
    """When the first contact method's page of each of these incidents reached the receiver, and how many of
    their deliveries in all arrived (a repeat with the same Idempotency-Key counts again)."""
    async with httpx.AsyncClient(timeout=60) as client:
        rows = (await client.get(f"{url}/records")).json()
    first: dict[str, float] = {}
    total = 0
    for at, _path, incident, index, _key in rows:
        if incident in incidents:
            total += 1
            if index == 0:
                first[incident] = min(at, first.get(incident, math.inf))
    return first, total


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def pct(p: float) -> float:
        return round(ordered[max(math.ceil(p / 100 * len(ordered)) - 1, 0)], 1) if ordered else math.nan

    return {"p50": pct(50), "p99": pct(99), "max": pct(100), "count": len(ordered)}


def rate(stamps: list[float]) -> dict[str, float]:
    """Records per second over the span from the first to the last, and the median and peak of whole seconds."""
    if len(stamps) < 2:
        return {"per_s": math.nan, "span_s": 0.0, "median_1s": math.nan, "peak_1s": math.nan}
    first, last = min(stamps), max(stamps)
    seconds = Counter(int(s - first) for s in stamps)
    whole = [seconds[k] for k in range(1, int(last - first))] or list(seconds.values())  # without partial ends
    return {
        "per_s": round(len(stamps) / max(last - first, 1e-3), 1),
        "span_s": round(last - first, 1),
        "median_1s": float(statistics.median(whole)),
        "peak_1s": float(max(whole)),
    }


def latencies(watch: LogWatch, delivered: dict[str, float], gave_up: float) -> dict[str, Any]:
    """ms from each incident's `incident.logged` record to its first page on the log, and to its delivery. One
    never paged or delivered counts as the time until the run gave up waiting: a lower bound, as bench/timers.py
    counts a missing timer."""
    logged, paged = watch.logged, watch.paged

    def until(stamp: dict[str, float]) -> list[float]:
        return [(stamp.get(i, gave_up) - s.stamped) * 1000 for i, s in logged.items()]

    read = [(paged[i].received - s.received) * 1000 for i, s in logged.items() if i in paged]
    return {
        "logged_to_paged_ms": summary(until({i: v.stamped for i, v in paged.items()})),
        "logged_to_paged_ms_as_read": summary(read),
        "logged_to_delivered_ms": summary(until(delivered)),
        "not_paged": watch.unpaged(),
        "not_delivered": sum(1 for i in logged if i not in delivered),
    }


def timeline(start: float, watch: LogWatch, delivered: dict[str, float]) -> dict[str, list[int]]:
    """Per second since `start`: incidents logged, first pages appended, first pages delivered."""

    def per_second(stamps: list[float]) -> list[int]:
        counts = Counter(max(int(s - start), 0) for s in stamps)
        return [counts[k] for k in range(max(counts, default=-1) + 1)]

    return {
        "logged": per_second([v.stamped for v in watch.logged.values()]),
        "paged": per_second([v.stamped for v in watch.paged.values()]),
        "delivered": per_second(list(delivered.values())),
    }


async def wait_idle(database_url: str, timeout_s: float) -> float:
    """Until the escalator has no delivery pending and no timer overdue (the previous run's work is done)."""
    conn = await asyncpg.connect(database_url)
    started = time.monotonic()
    try:
        while time.monotonic() - started < timeout_s:
            busy = await conn.fetchval(
                "SELECT (SELECT count(*) FROM escalator_outbox WHERE status = 'pending')"
                " + (SELECT count(*) FROM escalator_timers WHERE status = 'pending' AND due_at <= now())"
            )
            if busy == 0:
                return round(time.monotonic() - started, 1)
            await asyncio.sleep(1)
        raise TimeoutError(f"the escalator still had {busy} deliveries or overdue timers after {timeout_s} s")
    finally:
        await conn.close()


async def escalator_backlog(database_url: str, incidents: set[str]) -> dict[str, Any]:
    """The escalator's pending timers of these incidents by kind and step (a page's step is its contact method's
    index), how many of them are overdue, and its outbox by status."""
    conn = await asyncpg.connect(database_url)
    try:
        ids = list(incidents)
        timers = await conn.fetch(
            "SELECT kind, step, count(*) AS pending, count(*) FILTER (WHERE due_at <= now()) AS overdue"
            " FROM escalator_timers WHERE status = 'pending' AND incident_id = ANY($1::uuid[]) GROUP BY kind, step"
            " ORDER BY kind, step",
            ids,
        )
        outbox = await conn.fetch(
            "SELECT status, count(*) AS n FROM escalator_outbox WHERE incident_id = ANY($1::uuid[]) GROUP BY status",
            ids,
        )
        every = await conn.fetchval("SELECT count(*) FROM escalator_timers WHERE status = 'pending'")
    finally:
        await conn.close()
    return {
        "pending_timers": {f"{r['kind']}:{r['step']}": r["pending"] for r in timers},
        "overdue_timers": sum(r["overdue"] for r in timers),
        "pending_timers_all_incidents": every,
        "outbox": {r["status"]: r["n"] for r in outbox},
    }
