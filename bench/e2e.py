"""Open-loop load in a separate process (bench/openloop.py), and from sending a command to its verdict."""

import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.openloop import percentile

CHANNEL = "incident_verdicts"
SETTLE_S = 15.0


async def open_loop(url: str, token: str, ids: list[str], rate: int, seconds: int, prefer: str = "") -> dict[str, Any]:
    """Run bench.openloop in its own process; its summary, with one entry per request."""
    work = Path(tempfile.mkdtemp(prefix="bench-openloop-"))
    (work / "ids.json").write_text(json.dumps(ids))
    command = [sys.executable, "-m", "bench.openloop", "--url", url, "--token", token, "--ids", str(work / "ids.json")]
    command += ["--rate", str(rate), "--seconds", str(seconds), "--out", str(work / "out.json")]
    if prefer:
        command += ["--prefer", prefer]
    process = await asyncio.create_subprocess_exec(*command)
    if await process.wait() != 0:
        raise RuntimeError(f"bench.openloop failed with {process.returncode}")
    summary: dict[str, Any] = json.loads((work / "out.json").read_text())
    return summary


async def settle(
    database_url: str, topic: str, partitions: int, groups: tuple[str, ...], timeout_s: float
) -> tuple[float, int]:
    """Wait until every consumer group has stored offsets at the log's end: the next run starts on an idle
    platform, not on the backlog of the previous one. Returns the seconds it took and the log's size."""
    consumer = AIOKafkaConsumer(bootstrap_servers=os.environ["INCIDENTS_KAFKA_BOOTSTRAP"])
    await consumer.start()
    conn = await asyncpg.connect(database_url)
    started = time.monotonic()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in range(partitions)])
        end = sum(ends.values())
        while time.monotonic() - started < timeout_s:
            stored = await conn.fetch(
                "SELECT group_id, sum(next_offset) AS done FROM consumer_offsets"
                " WHERE topic = $1 AND group_id = any($2::text[]) GROUP BY group_id",
                topic,
                list(groups),
            )
            if len(stored) == len(groups) and all(r["done"] >= end for r in stored):
                return time.monotonic() - started, end
            await asyncio.sleep(0.2)
        raise TimeoutError(f"consumers {groups} did not reach offset sum {end} of {topic} within {timeout_s} s")
    finally:
        await conn.close()
        await consumer.stop()


async def _judged_at(database_url: str, event_ids: list[str]) -> dict[str, float]:
    if not event_ids:
        return {}
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT event_id::text AS id, judged_at FROM event_verdicts WHERE event_id = ANY($1::uuid[])", event_ids
        )
    finally:
        await conn.close()
    return {r["id"]: r["judged_at"].timestamp() for r in rows}


async def latency(url: str, token: str, ids: list[str], rate: int, seconds: int) -> dict[str, Any]:
    """Commands waiting for their verdicts at a fixed offered rate: latency from when each was due."""
    summary = await open_loop(url, token, ids, rate, seconds)
    return {k: v for k, v in summary.items() if k != "requests"}


async def measure(url: str, database_url: str, token: str, ids: list[str], rate: int, seconds: int) -> dict[str, Any]:
    """`Prefer: respond-async` at a fixed rate; latency from when a command was due to the NOTIFY of its
    verdict, which the projector sends in the transaction that commits the read model."""
    seen: dict[str, float] = {}
    missing: set[str] = set()
    settled = asyncio.Event()
    conn = await asyncpg.connect(database_url)

    def notified(_conn: Any, _pid: int, _channel: str, payload: object) -> None:
        seen.setdefault(str(payload), time.monotonic())
        missing.discard(str(payload))
        if not missing:
            settled.set()

    await conn.add_listener(CHANNEL, notified)
    try:
        summary = await open_loop(url, token, ids, rate, seconds, prefer="respond-async")
        wanted = [r for r in summary["requests"] if r["event_id"]]
        missing.update(r["event_id"] for r in wanted if r["event_id"] not in seen)
        if missing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(settled.wait(), SETTLE_S)  # the verdicts of the last requests
    finally:
        await conn.close()
    latencies = [(seen[r["event_id"]] - r["due"]) * 1000 for r in wanted if r["event_id"] in seen]
    # A verdict whose NOTIFY never reached this listener (seen in a few runs, cause not found yet) is timed by
    # its stored judged_at (the start of the projector's transaction: a few ms early), and counted.
    unheard = [r for r in wanted if r["event_id"] not in seen]
    judged = await _judged_at(database_url, [r["event_id"] for r in unheard])
    wall = time.time() - time.monotonic()  # the same machine clock, as wall time
    latencies += [(judged[r["event_id"]] - (r["due"] + wall)) * 1000 for r in unheard if r["event_id"] in judged]
    return {
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "max_ms": round(max(latencies), 2) if latencies else float("nan"),
        "sent": summary["sent"],
        "errors": summary["errors"],
        "without_verdict": len(wanted) - len(latencies),
        "timed_by_judged_at": sum(1 for r in unheard if r["event_id"] in judged),
        "append_p99_ms": summary["p99_ms"],
        "generator_cpu_s": summary["generator_cpu_s"],
    }
