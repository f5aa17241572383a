"""Kafka unreachable while the projector starts its workers: none of them is left dead without a word.

A gate (a TCP proxy) stands in front of Kafka's bootstrap address. Kafka clients connect through it once, to
learn the broker's own address, so the gate decides which of the projector's clients can start. A first run
counts the connections the projector opens until its lag monitor works; a second run lets all but the last of
them through, refuses the rest for a while, then opens. The projector must then either have stopped with a
non-zero status after logging `worker_failed`, or have logged `worker_failed` and restarted the worker, which
works once Kafka is reachable.
"""

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from incidents_shared.settings import CommonSettings
from tests.integration.services import SPARE_PORT, Service

REFUSED_FOR_S = 8.0


class Gate:
    """Forwards TCP connections to `target`; refuses those past the first `allow` (None: all pass)."""

    def __init__(self, target: str) -> None:
        host, port = target.rsplit(":", 1)
        self.target = (host, int(port))
        self.allow: int | None = None
        self.connections = self.refused = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return f"127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.allow is not None and self.connections > self.allow:
            self.refused += 1
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer), return_exceptions=True)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    finally:
        writer.close()


def _log_lines(log: Path, start: int) -> list[dict[str, Any]]:
    lines = []
    for raw in log.read_bytes()[start:].splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue
    return lines


async def _monitor_works(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            return "projector_consumer_lag{" in (await client.get(f"{url}/metrics")).text
    except httpx.HTTPError:
        return False


async def _until(check: Any, timeout_s: float) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.3)
    return False


async def test_kafka_unreachable_at_start_leaves_no_silently_dead_worker(
    settings: CommonSettings, services: dict[str, Service]
) -> None:
    gate = Gate(settings.kafka_bootstrap)
    bootstrap = await gate.start()
    projector = Service("projector", SPARE_PORT, env={"INCIDENTS_KAFKA_BOOTSTRAP": bootstrap})
    try:
        await asyncio.to_thread(projector.start)
        assert await _until(lambda: _monitor_works(projector.url), 30), "the monitor works with Kafka reachable"
        needed = gate.connections
        assert await asyncio.to_thread(projector.stop) == 0

        gate.connections, gate.allow = 0, needed - 1
        start = projector.log.stat().st_size
        projector.launch()
        await asyncio.sleep(REFUSED_FOR_S)
        assert gate.refused >= 1, "the gate refused the projector's last client"
        gate.allow = None

        async def settled() -> bool:
            return (
                projector.process is None or projector.process.poll() is not None or await _monitor_works(projector.url)
            )

        await _until(settled, 45)
        failed = [e for e in _log_lines(projector.log, start) if e.get("event") == "worker_failed"]
        assert failed, "the failure was logged with the worker's name and the error"
        assert all(e["name"] and e["error"] for e in failed)
        assert projector.process is not None
        code = projector.process.poll()
        if code is None:
            assert await _monitor_works(projector.url), "still running: the failed worker was restarted and works"
            assert {e["action"] for e in failed} == {"restart"}
        else:
            assert code != 0, "stopped: with a non-zero status"
            assert "stop_service" in {e["action"] for e in failed}
    finally:
        projector.kill()
        await gate.close()
