"""The real Prometheus Alertmanager (Debian's package) posting its webhook to the API under test: one incident for
its notification group, its repeats append nothing, the resolved notification auto-resolves it."""

import asyncio
import contextlib
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

from tests.integration.helpers import auth, eventually

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
FAST = {"group_wait": "1s", "group_interval": "1s", "repeat_interval": "2s"}  # repeats: the API must deduplicate


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def webhook_receiver(name: str, api_url: str, token: str) -> dict[str, Any]:
    webhook = {
        "url": f"{api_url}/v1/alerts/alertmanager",
        "send_resolved": True,
        "http_config": {"authorization": {"credentials": token}},
    }
    return {"name": name, "webhook_configs": [webhook]}


def _config(api_url: str, token: str) -> dict[str, Any]:
    return {
        "global": {"resolve_timeout": "5m"},
        "route": {"receiver": "incidents", "group_by": ["alertname"], **FAST},
        "receivers": [webhook_receiver("incidents", api_url, token)],
    }


@contextlib.contextmanager
def running_alertmanager(workdir: Path, config: dict[str, Any]) -> Iterator[str]:
    """A real Alertmanager with `config` (its own port and storage under `workdir`); yields its URL."""
    assert BINARY is not None, "prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)"
    port = free_port()
    path = workdir / "alertmanager.yml"
    path.write_text(json.dumps(config))  # JSON is YAML
    args = [
        BINARY,
        f"--config.file={path}",
        f"--storage.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    with (workdir / "alertmanager.log").open("wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=log)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(10)


@contextlib.asynccontextmanager
async def alertmanager_client(url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the Alertmanager at `url`, once it is ready."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def ready() -> bool:
            try:
                return (await client.get("/-/ready")).status_code == 200
            except httpx.TransportError:
                return False

        assert await eventually(ready, 20), "Alertmanager did not become ready"
        yield client


@pytest.fixture
def alertmanager(tmp_path: Path, api_url: str, tokens: dict[str, str]) -> Iterator[str]:
    with running_alertmanager(tmp_path, _config(api_url, tokens["integration"])) as url:
        yield url


@pytest.fixture
async def am(alertmanager: str) -> AsyncIterator[httpx.AsyncClient]:
    async with alertmanager_client(alertmanager) as client:
        yield client


async def _incidents_named(db: asyncpg.Connection, name: str) -> list[dict[str, Any]]:
    rows = await db.fetch("SELECT state FROM incidents WHERE state->'labels'->>'alertname' = $1", name)
    return [json.loads(r["state"]) for r in rows]


async def _recorded_events(api: httpx.AsyncClient, tokens: dict[str, str], incident_id: str) -> list[dict[str, Any]]:
    timeline = await api.get(f"/v1/incidents/{incident_id}/timeline", headers=auth(tokens, "auditor"))
    return [ev for ev in timeline.json()["events"] if ev["type"] == "incident.alerts_recorded"]


async def test_alertmanager_opens_one_incident_its_repeats_append_nothing_and_it_resolves(
    am: httpx.AsyncClient, db: asyncpg.Connection, api: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    name = f"DiskFull{uuid.uuid4().hex[:8]}"
    alert = {
        "labels": {"alertname": name, "severity": "critical", "service": "storage", "instance": "db-1"},
        "annotations": {"summary": "disk almost full on db-1", "runbook_url": "https://runbooks/disk"},
        "startsAt": datetime.now(UTC).isoformat(),
        "generatorURL": "http://prometheus/graph",
    }
    assert (await am.post("/api/v2/alerts", json=[alert])).status_code == 200

    async def opened() -> list[dict[str, Any]]:
        """Once its alert is recorded too: the opening and the record of the group's alerts are two appends."""
        found = await _incidents_named(db, name)
        return found if found and found[0]["alerts_firing"] else []

    [incident] = await eventually(opened, 30)
    assert (incident["source"], incident["priority"], incident["status"]) == ("alert", "P1", "new")
    assert incident["runbook_url"] == "https://runbooks/disk" and incident["service"] == "storage"
    assert incident["dedup_key"] == f'alertmanager/incidents/{{}}:{{alertname="{name}"}}'
    assert (incident["alerts_firing"], incident["firing_instances"]) == (1, ["db-1"])

    await asyncio.sleep(5)  # Alertmanager sends the unchanged group again every 2 s
    assert len(await _recorded_events(api, tokens, incident["incident_id"])) == 1, "repeats append nothing"
    ended = {**alert, "endsAt": datetime.now(UTC).isoformat()}
    assert (await am.post("/api/v2/alerts", json=[ended])).status_code == 200

    async def resolved() -> list[dict[str, Any]]:
        found = await _incidents_named(db, name)
        return found if found and found[0]["status"] == "resolved" else []

    [done] = await eventually(resolved, 30)
    assert (done["resolution_code"], done["alerts_firing"]) == ("auto_resolved", 0)
    assert len(await _incidents_named(db, name)) == 1
