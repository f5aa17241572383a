"""Issue 19 finding 4: the stream, alert batches and /readyz under abuse (docs/decisions/0092).

1,000 streams (raw sockets in this process) on a second API process: other requests keep their latency, the
principal's and the instance's limits answer 429 / 503 with a problem, every stream gets a new event within
seconds, and idle streams cost PostgreSQL about one statement a second, not one per stream. A batch of N alerts
costs N rate-limit tokens; /readyz asked 200 times opens no broker connection.
"""

import asyncio
import contextlib
import re
import statistics
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from incidents_shared.settings import CommonSettings
from tests.integration.helpers import auth, eventually, log_incident
from tests.integration.services import SPARE_PORT, Service

STREAMS = 1_000
PER_INSTANCE = STREAMS + 10
PROBES = 200
PROBLEM = "application/problem+json"


@dataclass
class FanOut:
    """When each stream first saw `marker` (monotonic time); `all_heard` is set once `expected` streams did."""

    expected: int
    marker: bytes = b""
    seen: list[float] = field(default_factory=list)
    all_heard: asyncio.Event = field(default_factory=asyncio.Event)

    def saw(self) -> None:
        self.seen.append(time.monotonic())
        if len(self.seen) >= self.expected:
            self.all_heard.set()


@dataclass
class RawStream:
    """One SSE client on a plain socket, keeping the last bytes it read."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    tail: bytes = b""

    async def watch(self, fan_out: FanOut) -> None:
        heard = False
        while chunk := await self.reader.read(65_536):
            self.tail = (self.tail + chunk)[-65_536:]
            if not heard and fan_out.marker and fan_out.marker in self.tail:
                heard = True
                fan_out.saw()

    def close(self) -> None:
        self.writer.close()


async def open_raw(port: int, token: str) -> tuple[int, RawStream]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = f"GET /v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n"
    writer.write(request.encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    return int(head.split(b" ", 2)[1]), RawStream(reader, writer)


async def open_many(port: int, token: str, count: int) -> list[RawStream]:
    opened: list[RawStream] = []
    for start in range(0, count, 100):  # 100 at a time: the accept queue stays short
        answers = await asyncio.gather(*(open_raw(port, token) for _ in range(min(100, count - start))))
        assert [status for status, _ in answers] == [200] * len(answers)
        opened += [stream for _, stream in answers]
    return opened


async def latencies(client: httpx.AsyncClient, path: str, headers: dict[str, str], n: int = PROBES) -> list[float]:
    took: list[float] = []
    for _ in range(n):
        started = time.perf_counter()
        answer = await client.get(path, headers=headers)
        took.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text
    return took


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


async def metric(client: httpx.AsyncClient, name: str) -> float:
    text = (await client.get("/metrics")).text
    return sum(float(m.group(1)) for m in re.finditer(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.MULTILINE))


async def commits(db: asyncpg.Connection) -> int:
    await db.execute("SELECT pg_stat_clear_snapshot()")
    value: int = await db.fetchval("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
    return value


async def per_second(db: asyncpg.Connection, client: httpx.AsyncClient, seconds: float) -> tuple[float, float]:
    """PostgreSQL's commits per second and the API's stream statements per second, over `seconds`."""
    xact, reads = await commits(db), await metric(client, "api_stream_reads_total")
    await asyncio.sleep(seconds)
    xact_after, reads_after = await commits(db), await metric(client, "api_stream_reads_total")
    return (xact_after - xact) / seconds, (reads_after - reads) / seconds


def refused(answer: httpx.Response, status: int, limit_text: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert int(answer.headers["Retry-After"]) >= 1
    assert limit_text in answer.json()["detail"], answer.json()


def spare_api(**env: object) -> Service:
    return Service("command-api", SPARE_PORT, env={f"INCIDENTS_{k.upper()}": str(v) for k, v in env.items()})


async def test_a_thousand_streams_keep_the_api_serving_and_all_hear_a_new_event(
    api: httpx.AsyncClient, tokens: dict[str, str], db: asyncpg.Connection
) -> None:
    spare = spare_api(stream_max_per_principal=STREAMS, stream_max_per_instance=PER_INSTANCE)
    await asyncio.to_thread(spare.start)
    streams: list[RawStream] = []
    fan_out = FanOut(PER_INSTANCE)
    try:
        async with httpx.AsyncClient(base_url=spare.url, timeout=30) as client, asyncio.TaskGroup() as tasks:
            probe = f"/v1/incidents/{(await log_incident(api, tokens, title='probe'))['incident_id']}"
            idle = await latencies(client, probe, auth(tokens, "responder"))
            idle_xact, _ = await per_second(db, client, 5)

            streams = await open_many(SPARE_PORT, tokens["auditor"], STREAMS)
            refused(await client.get("/v1/stream", headers=auth(tokens, "auditor")), 429, f"principal: {STREAMS}")
            streams += await open_many(SPARE_PORT, tokens["responder"], PER_INSTANCE - STREAMS)
            refused(await client.get("/v1/stream", headers=auth(tokens, "responder")), 503, f"instance: {PER_INSTANCE}")
            watchers = [tasks.create_task(s.watch(fan_out)) for s in streams]

            streaming_xact, stream_reads = await per_second(db, client, 5)
            assert stream_reads < 5, f"{stream_reads:.1f} stream statements/s with {PER_INSTANCE} idle streams"
            assert streaming_xact < idle_xact + 50, f"commits/s {idle_xact:.0f} idle, {streaming_xact:.0f} streaming"

            loaded, appended = await _append_while_measuring(api, client, tokens, probe, fan_out)
            for watcher in watchers:
                watcher.cancel()
            streams.pop(0).close()
            assert await eventually(lambda: _reopens(tokens["auditor"], streams)), "a closed stream's place is free"
    finally:
        for stream in streams:
            stream.close()
        assert await asyncio.to_thread(spare.stop) == 0
    heard = [at - appended for at in fan_out.seen if at - appended < 5]
    assert len(heard) == PER_INSTANCE, f"{len(heard)} of {PER_INSTANCE} streams heard the event within 5 s"
    bound = min(0.5, max(5 * p99(idle), 0.1))
    assert p99(loaded) < bound, f"GET p99 {p99(loaded) * 1000:.0f} ms with streams, {p99(idle) * 1000:.0f} ms idle"


async def _reopens(token: str, streams: list[RawStream]) -> bool:
    status, stream = await open_raw(SPARE_PORT, token)
    streams.append(stream)
    return status == 200


async def _append_while_measuring(
    api: httpx.AsyncClient, client: httpx.AsyncClient, tokens: dict[str, str], probe: str, fan_out: FanOut
) -> tuple[list[float], float]:
    """Log an incident while a GET's latency is measured; wait until every stream saw it (or 10 s)."""
    marker = f"fan-out {uuid.uuid4()}"
    fan_out.marker = marker.encode()
    measuring = asyncio.create_task(latencies(client, probe, auth(tokens, "responder")))
    appended = time.monotonic()
    await log_incident(api, tokens, title=marker)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(fan_out.all_heard.wait(), 10)
    return await measuring, appended


def _generic(n: int, status: str = "resolved") -> list[dict[str, Any]]:
    run = uuid.uuid4().hex[:8]
    return [{"dedup_key": f"batch-{run}-{i}", "status": status, "summary": "batch", "service": "sse"} for i in range(n)]


def _notification(n: int) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    labels = {"alertname": f"Batch{run}"}
    alert = {"status": "resolved", "labels": labels, "annotations": {"summary": "batch"}}
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="Batch{run}"}}',
        "status": "resolved",
        "receiver": "incidents",
        "groupLabels": labels,
        "commonLabels": labels,
        "alerts": [{**alert, "fingerprint": f"{run}-{i}", "startsAt": "2026-11-27T10:00:00Z"} for i in range(n)],
    }


async def test_a_batch_of_alerts_costs_one_token_per_alert(tokens: dict[str, str]) -> None:
    spare = Service(
        "command-api", SPARE_PORT, env={"INCIDENTS_RATE_LIMIT_PER_S": "0.2", "INCIDENTS_RATE_LIMIT_BURST": "20"}
    )
    await asyncio.to_thread(spare.start)
    try:
        async with httpx.AsyncClient(base_url=spare.url, timeout=30) as client:
            headers = auth(tokens, "integration")
            first = await client.post("/v1/alerts", json=_generic(12), headers=headers)
            assert first.status_code == 200 and len(first.json()["results"]) == 12, first.text
            second = await client.post("/v1/alerts", json=_generic(12), headers=headers)
            refused(second, 429, "this batch costs 12")
            too_big = await client.post("/v1/alerts", json=_generic(21), headers=headers)
            assert too_big.status_code == 413 and "limit per request: 20 alerts" in too_big.json()["detail"]
            manager = await client.post("/v1/alerts/alertmanager", json=_notification(21), headers=headers)
            assert manager.status_code == 413 and "this batch has 21" in manager.json()["detail"], manager.text
            one = await client.post("/v1/alerts", json=_generic(1), headers=headers)
            assert one.status_code == 200, "the refused batches took nothing from the bucket"
    finally:
        assert await asyncio.to_thread(spare.stop) == 0


def broker_sockets(port: int) -> int:
    """Sockets of this machine whose remote end is the broker, in any state (a closed one stays in TIME_WAIT)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            remote = line.split()[2]
            count += int(remote.rsplit(":", 1)[1], 16) == port
    return count


async def test_readyz_answers_from_one_check_and_opens_no_broker_connection(
    api: httpx.AsyncClient, settings: CommonSettings
) -> None:
    port = int(settings.kafka_bootstrap.split(",")[0].rsplit(":", 1)[1])
    clients = await metric(api, "api_readiness_kafka_clients_total")
    before = broker_sockets(port)
    answers = await asyncio.gather(*(api.get("/readyz") for _ in range(PROBES)))
    after = broker_sockets(port)
    assert {a.status_code for a in answers} == {200}
    assert all(a.json()["checks"] == {"kafka": "ok", "postgres": "ok"} for a in answers)
    assert after - before < 5, f"{after - before} new sockets to the broker for {PROBES} /readyz"
    assert await metric(api, "api_readiness_kafka_clients_total") == clients, "no new admin client"
