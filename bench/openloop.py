"""Open-loop load at a fixed offered rate: latency as a user sees it, not as a closed loop hides it.

The generator is Python (asyncio + httpx) on the same 2 cores as the platform; it is open-loop, so a slow
server makes requests pile up instead of slowing the generator down.
"""

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Samples:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    sent: int = 0
    shed: int = 0  # due while MAX_IN_FLIGHT requests were still waiting: the offered rate was not served
    bodies: list[tuple[float, dict[str, Any]]] = field(default_factory=list)

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 2) if ordered else float("nan")


MAX_IN_FLIGHT = 256


def _request(token: str, ids: list[str], n: int, prefer: str | None) -> tuple[str, dict[str, Any], dict[str, str]]:
    headers = {"Authorization": f"Bearer {token}"}
    if prefer:
        headers["Prefer"] = prefer
    if n % 5 == 0:
        return (
            "/v1/incidents",
            {"title": "Checkout returns 502", "service": "checkout", "impact": "medium", "urgency": "medium"},
            headers,
        )
    body = {"kind": "note", "text": "still investigating the payment gateway timeouts"}
    return f"/v1/incidents/{random.choice(ids)}/notes", body, headers


async def run(
    url: str, token: str, ids: list[str], rate: int, seconds: int, prefer: str | None = None, keep_bodies: bool = False
) -> Samples:
    samples = Samples()
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=512)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        in_flight = 0

        async def one(n: int, started: float) -> None:
            nonlocal in_flight
            in_flight += 1
            path, body, headers = _request(token, ids, n, prefer)
            try:
                answer = await client.post(path, json=body, headers=headers)
            except httpx.HTTPError:
                samples.errors += 1
                return
            finally:
                in_flight -= 1
            samples.latencies_ms.append((time.perf_counter() - started) * 1000)
            if answer.status_code >= 300:
                samples.errors += 1
            elif keep_bodies:
                samples.bodies.append((started, answer.json()))

        tasks = []
        begin = time.perf_counter()
        for n in range(rate * seconds):
            due = begin + n / rate  # latency counts from when the request was due (no coordinated omission)
            if (delay := due - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
            samples.sent += 1
            if in_flight >= MAX_IN_FLIGHT:
                samples.shed += 1  # the server is this far behind: count it as failed rather than pile on
                continue
            tasks.append(asyncio.create_task(one(n, due)))
        await asyncio.gather(*tasks)
    return samples
