"""1,000 open live streams on one command API (issue 19 finding 4, docs/decisions/0092), on a fresh bench stack.

The streams are plain sockets in this process (an SSE client each, `GET /v1/stream`). Measured: the latency of
`GET /v1/incidents/{id}` and of a command (`POST .../notes`, answered with its verdict) with no stream open and
with all of them open, the time from an append (`POST /v1/incidents`) to the first, the median and the last
stream seeing it, and the statements the streams ran per second while idle (`api_stream_reads_total`).

python -m bench.stream [--quick] [--streams N]
"""

import asyncio
import contextlib
import re
import statistics
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.stack import PORTS
from bench.suite import on_fresh_platform, suite_main

FULL = {"streams": 1_000, "probes": 300, "appends": 5, "idle_s": 10}
QUICK = {"streams": 200, "probes": 100, "appends": 2, "idle_s": 3}


@dataclass
class Heard:
    """When each stream first saw one marker; `all` is set once `expected` did."""

    expected: int
    seen: list[float] = field(default_factory=list)
    all: asyncio.Event = field(default_factory=asyncio.Event)

    def saw(self) -> None:
        self.seen.append(time.monotonic())
        if len(self.seen) >= self.expected:
            self.all.set()


@dataclass
class Streams:
    """Open SSE sockets and, per append, when each one first saw its marker."""

    writers: list[asyncio.StreamWriter] = field(default_factory=list)
    markers: dict[bytes, Heard] = field(default_factory=dict)

    async def open(self, port: int, token: str) -> asyncio.Task[None]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET /v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"stream refused: {head[:200]!r}")
        self.writers.append(writer)
        return asyncio.create_task(self._watch(reader))

    async def _watch(self, reader: asyncio.StreamReader) -> None:
        tail, heard = b"", set()
        while chunk := await reader.read(65_536):
            tail = (tail + chunk)[-65_536:]
            for marker, listening in self.markers.items():
                if marker not in heard and marker in tail:
                    heard.add(marker)
                    listening.saw()

    def close(self) -> None:
        for writer in self.writers:
            writer.close()


def summary_ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50": round(statistics.median(ordered) * 1000, 1),
        "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
        "max": round(ordered[-1] * 1000, 1),
    }


async def timed(client: httpx.AsyncClient, n: int, call: Any) -> list[float]:
    took = []
    for _ in range(n):
        started = time.perf_counter()
        answer = await call(client)
        took.append(time.perf_counter() - started)
        if answer.status_code >= 300:
            raise RuntimeError(f"{answer.status_code}: {answer.text[:300]}")
    return took


async def stream_reads(client: httpx.AsyncClient) -> float:
    text = (await client.get("/metrics")).text
    return sum(float(v) for v in re.findall(r"^api_stream_reads_total\{[^}]*\} (\S+)$", text, re.MULTILINE))


async def measure(url: str, size: dict[str, int], token: dict[str, str]) -> dict[str, Any]:
    manager = {"Authorization": f"Bearer {token['manager']}"}
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        logged = await client.post("/v1/incidents", json={"title": "bench stream", "service": "sse"}, headers=manager)
        path = f"/v1/incidents/{logged.json()['incident_id']}"

        async def get(c: httpx.AsyncClient) -> httpx.Response:
            return await c.get(path, headers=manager)

        async def note(c: httpx.AsyncClient) -> httpx.Response:
            return await c.post(f"{path}/notes", json={"text": "bench"}, headers=manager)

        out: dict[str, Any] = {"streams": size["streams"]}
        out["idle"] = {"get_ms": summary_ms(await timed(client, size["probes"], get))}
        out["idle"]["command_ms"] = summary_ms(await timed(client, size["probes"] // 3, note))
        streams, started = Streams(), time.perf_counter()
        watchers = [await streams.open(PORTS["command-api"], token["auditor"]) for _ in range(size["streams"])]
        out["open_all_s"] = round(time.perf_counter() - started, 2)
        try:
            before = await stream_reads(client)
            await asyncio.sleep(size["idle_s"])
            out["idle_stream_statements_per_s"] = round((await stream_reads(client) - before) / size["idle_s"], 2)
            out["with_streams"] = {"get_ms": summary_ms(await timed(client, size["probes"], get))}
            out["with_streams"]["command_ms"] = summary_ms(await timed(client, size["probes"] // 3, note))
            out["fan_out_ms"] = await fan_out(client, streams, size, manager)
        finally:
            for watcher in watchers:
                watcher.cancel()
            streams.close()
    return out


async def fan_out(
    client: httpx.AsyncClient, streams: Streams, size: dict[str, int], headers: dict[str, str]
) -> dict[str, Any]:
    """Per append: ms from the POST to the first, the median and the last stream that saw it."""
    runs = []
    for _ in range(size["appends"]):
        marker = f"fan-out {uuid.uuid4()}"
        heard = streams.markers.setdefault(marker.encode(), Heard(size["streams"]))
        appended = time.monotonic()
        await client.post("/v1/incidents", json={"title": marker, "service": "sse"}, headers=headers)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(heard.all.wait(), 30)
        delays = sorted(at - appended for at in heard.seen)
        runs.append({"heard": len(delays), "first": delays[0], "median": statistics.median(delays), "last": delays[-1]})
        await asyncio.sleep(1)
    return {
        "all_heard": all(r["heard"] == size["streams"] for r in runs),
        **{k: round(statistics.median(r[k] for r in runs) * 1000, 1) for k in ("first", "median", "last")},
        "last_worst": round(max(r["last"] for r in runs) * 1000, 1),
    }


def run_alone(size: dict[str, int]) -> dict[str, Any]:
    limits = {"INCIDENTS_STREAM_MAX_PER_PRINCIPAL": str(size["streams"] + 10)}
    return on_fresh_platform(measure, size, limits)


def for_report(quick: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """Results and notes for bench/run.py: the `stream_*` keys."""
    m = run_alone(QUICK if quick else FULL)
    results = {
        "stream": m,
        "stream_get_p99_ms_with_streams": m["with_streams"]["get_ms"]["p99"],
        "stream_command_p99_ms_with_streams": m["with_streams"]["command_ms"]["p99"],
        "stream_fan_out_last_ms": m["fan_out_ms"]["last"],
        "stream_idle_statements_per_s": m["idle_stream_statements_per_s"],
    }
    note = f"{m['streams']:,} streams open on one API (raw sockets, one process); idle: GET p99"
    note += f" {m['idle']['get_ms']['p99']} ms, command p99 {m['idle']['command_ms']['p99']} ms"
    return results, {"stream_get_p99_ms_with_streams": note}


def main() -> None:
    suite_main(__doc__, run_alone, FULL, QUICK)


if __name__ == "__main__":
    main()
