"""The real Prometheus Alertmanager (Debian's package) posting its webhook to the API under test."""

import asyncio
import json
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.integration.helpers import eventually

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _config(api_url: str, token: str) -> dict[str, Any]:
    webhook = {
        "url": f"{api_url}/v1/alerts/alertmanager",
        "send_resolved": True,
        "http_config": {"authorization": {"credentials": token}},
    }
    return {
        "global": {"resolve_timeout": "5m"},
        "route": {
            "receiver": "incidents",
            "group_by": ["alertname"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "2s",  # the same firing alert is sent again and again: the API must deduplicate
        },
        "receivers": [{"name": "incidents", "webhook_configs": [webhook]}],
    }


@pytest.fixture
def alertmanager(tmp_path: Path, api_url: str, tokens: dict[str, str]) -> Iterator[str]:
    if BINARY is None:
        pytest.skip("prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)")
    port = _free_port()
    config = tmp_path / "alertmanager.yml"
    config.write_text(json.dumps(_config(api_url, tokens["integration"])))  # JSON is YAML
    args = [
        BINARY,
        f"--config.file={config}",
        f"--storage.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    with (tmp_path / "alertmanager.log").open("wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=log)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(10)


@pytest.fixture
async def am(alertmanager: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=alertmanager, timeout=10) as client:

        async def ready() -> bool:
            try:
                return (await client.get("/-/ready")).status_code == 200
            except httpx.TransportError:
                return False

        assert await eventually(ready, 20), "Alertmanager did not become ready"
        yield client


async def _incidents_named(db: asyncpg.Connection, name: str) -> list[dict[str, Any]]:
    rows = await db.fetch("SELECT state FROM incidents WHERE state->'labels'->>'alertname' = $1", name)
    return [json.loads(r["state"]) for r in rows]


async def test_alertmanager_opens_deduplicates_and_resolves(am: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    name = f"DiskFull{uuid.uuid4().hex[:8]}"
    alert = {
        "labels": {"alertname": name, "severity": "critical", "service": "storage", "instance": "db-1"},
        "annotations": {"summary": "disk almost full on db-1", "runbook_url": "https://runbooks/disk"},
        "startsAt": datetime.now(UTC).isoformat(),
        "generatorURL": "http://prometheus/graph",
    }
    assert (await am.post("/api/v2/alerts", json=[alert])).status_code == 200

    async def repeated() -> list[dict[str, Any]]:
        found = await _incidents_named(db, name)
        return found if found and found[0]["alert_count"] >= 3 else []

    [incident] = await eventually(repeated, 30)  # one incident however often Alertmanager repeats itself
    assert (incident["source"], incident["priority"], incident["status"]) == ("alert", "P1", "new")
    assert incident["runbook_url"] == "https://runbooks/disk" and incident["service"] == "storage"

    await asyncio.sleep(0.5)
    ended = {**alert, "endsAt": datetime.now(UTC).isoformat()}
    assert (await am.post("/api/v2/alerts", json=[ended])).status_code == 200

    async def resolved() -> list[dict[str, Any]]:
        found = await _incidents_named(db, name)
        return found if found and found[0]["status"] == "resolved" else []

    [done] = await eventually(resolved, 30)
    assert done["resolution_code"] == "auto_resolved"
    assert len(await _incidents_named(db, name)) == 1
