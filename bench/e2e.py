"""From sending a command to seeing its verdict in the read model, at a fixed offered rate."""

import asyncio
import time
from typing import Any

import asyncpg

from bench import openloop

CHANNEL = "incident_verdicts"


async def _settle(seen: dict[str, float], bodies: list[tuple[float, dict[str, Any]]], timeout_s: float) -> None:
    """Give the verdicts of the last requests time to arrive."""
    deadline = time.perf_counter() + timeout_s
    for _, body in bodies:
        while body["event_id"] not in seen and time.perf_counter() < deadline:  # noqa: ASYNC110 - a callback fills it
            await asyncio.sleep(0.05)


async def measure(url: str, database_url: str, token: str, ids: list[str], rate: int, seconds: int) -> dict[str, Any]:
    seen: dict[str, float] = {}
    conn = await asyncpg.connect(database_url)

    def notified(_conn: Any, _pid: int, _channel: str, payload: object) -> None:
        seen[str(payload)] = time.perf_counter()

    await conn.add_listener(CHANNEL, notified)
    try:
        samples = await openloop.run(url, token, ids, rate, seconds, prefer="respond-async", keep_bodies=True)
        await _settle(seen, samples.bodies, timeout_s=30)
    finally:
        await conn.close()
    latencies = sorted((seen[b["event_id"]] - sent) * 1000 for sent, b in samples.bodies if b["event_id"] in seen)
    missing = sum(1 for _, b in samples.bodies if b["event_id"] not in seen)

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))], 2) if latencies else -1.0

    return {
        "p50_ms": pct(50),
        "p99_ms": pct(99),
        "sent": samples.sent,
        "errors": samples.errors,
        "shed": samples.shed,
        "without_verdict": missing,
    }
