"""Open-loop load at a fixed offered rate, in its own process: latency as a user sees it.

`python -m bench.openloop --url U --token T --ids FILE --rate R --seconds S [--prefer respond-async] --out FILE`

Requests are due at start + n / rate whatever the server does (open loop), and each latency counts from when
its request was *due*, not from when a connection was free to send it: a server that falls behind sees the wait
of every request queued behind it (no coordinated omission, as wrk2 measures). The client is a minimal HTTP/1.1
keep-alive client on asyncio protocols with uvloop (~30 us of CPU per request), so at 1,000 requests/s it needs a
few percent of one core; its CPU is reported beside the figures (`generator` in the CPU budget). No request is
shed: when all `--connections` are busy, due requests wait for one and that wait is latency.
"""

import argparse
import asyncio
import collections
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import uvloop

NOTE = b'{"kind":"note","text":"still investigating the payment gateway timeouts"}'
NEW = b'{"title":"Checkout returns 502","service":"checkout","impact":"medium","urgency":"medium"}'


def request_bytes(n: int, host: str, token: str, ids: list[str], prefer: str) -> bytes:
    """The same mix as the wrk script: every fifth request logs an incident, the others add notes."""
    path, body = ("/v1/incidents", NEW) if n % 5 == 0 else (f"/v1/incidents/{ids[n % len(ids)]}/notes", NOTE)
    extra = f"Prefer: {prefer}\r\n" if prefer else ""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\n{extra}Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


@dataclass
class Outcome:
    due: float  # time.monotonic() when the request was due (comparable across processes on Linux)
    latency_ms: float
    status: int
    body: bytes


class Connection(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight (no pipelining)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's TCPTransport is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection lost"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        length = 0
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        if not self.waiter.done():
            self.waiter.set_result((int(head[0].split()[1]), body))

    async def send(self, payload: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(payload)
        try:
            return await self.waiter
        finally:
            self.waiter = None


@dataclass
class Run:
    url: str
    token: str
    ids: list[str]
    rate: float
    seconds: float
    prefer: str
    connections: int
    outcomes: list[Outcome] = field(default_factory=list)
    errors: int = 0
    late_sends: int = 0  # requests that waited for a free connection (their wait is in their latency)

    async def go(self) -> None:
        parts = urlsplit(self.url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        loop = asyncio.get_running_loop()
        idle: collections.deque[Connection] = collections.deque()
        opened = 0
        free = asyncio.Condition()
        tasks: set[asyncio.Task[None]] = set()

        async def connection() -> Connection:
            nonlocal opened
            async with free:
                while not idle and opened >= self.connections:
                    await free.wait()
                if idle:
                    return idle.popleft()
                opened += 1
            try:
                _, proto = await loop.create_connection(Connection, host, port)
            except OSError:
                async with free:
                    opened -= 1
                    free.notify()
                raise
            return proto

        async def one(n: int, due: float) -> None:
            nonlocal opened
            payload = request_bytes(n, f"{host}:{port}", self.token, self.ids, self.prefer)
            try:
                conn = await connection()
            except OSError:
                self.errors += 1
                return
            if time.monotonic() - due > 0.001:
                self.late_sends += 1
            try:
                status, body = await conn.send(payload)
                self.outcomes.append(Outcome(due, (time.monotonic() - due) * 1000, status, body))
            except (ConnectionError, ValueError, IndexError):  # lost, or an answer this client cannot read
                self.errors += 1
                conn.closed = True
                if conn.transport is not None:
                    conn.transport.close()
            finally:
                async with free:
                    if conn.closed:
                        opened -= 1
                    else:
                        idle.append(conn)
                    free.notify()

        total = int(self.rate * self.seconds)
        begin = time.monotonic()
        for n in range(total):
            due = begin + n / self.rate
            if (delay := due - time.monotonic()) > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(n, due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        while tasks:
            await asyncio.wait(set(tasks))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 2) if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--ids", required=True, type=Path, help="JSON list of incident ids for the notes")
    parser.add_argument("--rate", required=True, type=float)
    parser.add_argument("--seconds", required=True, type=float)
    parser.add_argument("--prefer", default="")
    parser.add_argument("--connections", type=int, default=1024)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    ids = json.loads(args.ids.read_text())
    run = Run(args.url, args.token, ids, args.rate, args.seconds, args.prefer, args.connections)
    started = time.process_time()
    uvloop.run(run.go())
    cpu_s = time.process_time() - started
    latencies = [o.latency_ms for o in run.outcomes]
    summary: dict[str, Any] = {
        "offered_rps": args.rate,
        "sent": len(run.outcomes) + run.errors,
        "errors": run.errors + sum(1 for o in run.outcomes if o.status >= 300),
        "late_sends": run.late_sends,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "max_ms": round(max(latencies), 2) if latencies else float("nan"),
        "generator_cpu_s": round(cpu_s, 2),
        "requests": [
            {"due": o.due, "latency_ms": round(o.latency_ms, 3), "status": o.status, "event_id": _event_id(o.body)}
            for o in run.outcomes
        ],
    }
    args.out.write_text(json.dumps(summary))
    print(json.dumps({k: v for k, v in summary.items() if k != "requests"}), file=sys.stderr)


def _event_id(body: bytes) -> str | None:
    try:
        value = json.loads(body).get("event_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


if __name__ == "__main__":
    main()
