"""`incidentctl rebuild` under load: the rebuilt read model equals the live one and replaces it in place.

Run in-process (typer's runner) so it reads the log with the same decoders as the session's invariant check.
"""

import asyncio
import threading
import time
import uuid

import asyncpg
import httpx
import pytest
from typer.testing import CliRunner

from incidentctl import rebuild_workers
from incidentctl.checker import check
from incidentctl.main import app
from incidentctl.rebuild import rebuild
from incidents_shared.settings import CommonSettings
from tests.integration.helpers import auth


class Load(threading.Thread):
    """Keeps logging incidents (without waiting for verdicts) until stopped."""

    def __init__(self, api_url: str, tokens: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.api_url, self.tokens = api_url, tokens
        self.stopped = threading.Event()
        self.locations: list[str] = []
        self.refused: list[str] = []

    def run(self) -> None:
        headers = auth(self.tokens, "reporter", Prefer="respond-async")
        with httpx.Client(base_url=self.api_url, timeout=30) as client:
            while not self.stopped.is_set():
                body = {"title": f"load {len(self.locations)}", "service": "rebuild-load"}
                answer = client.post("/v1/incidents", json=body, headers=headers)
                if answer.status_code != 202:
                    self.refused.append(answer.text)
                    continue
                self.locations.append(answer.headers["Location"])
                time.sleep(0.02)


async def _position(settings: CommonSettings, incident_id: str) -> int:
    conn = await asyncpg.connect(settings.database_url)
    try:
        position: int = await conn.fetchval(
            "SELECT position FROM incident_events WHERE incident_id = $1::uuid AND version = 1", incident_id
        )
        return position
    finally:
        await conn.close()


def _verdicts(api_url: str, tokens: dict[str, str], locations: list[str]) -> list[str]:
    found = []
    with httpx.Client(base_url=api_url, timeout=30) as client:
        for location in locations:
            for _ in range(200):
                answer = client.get(location, headers=auth(tokens, "auditor"))
                if answer.status_code == 200:
                    break
                time.sleep(0.05)
            found.append(answer.json()["verdict"])
    return found


def test_rebuild_beside_the_live_model_then_swap(
    api_url: str, tokens: dict[str, str], settings: CommonSettings
) -> None:
    with httpx.Client(base_url=api_url, timeout=30) as client:
        before = client.post(
            "/v1/incidents", json={"title": "before", "service": "rb"}, headers=auth(tokens, "reporter")
        )
    assert before.status_code == 201
    word = f"zq{uuid.uuid4().hex[:10]}"  # a word only this note has
    with httpx.Client(base_url=api_url, timeout=30) as client:
        noted = client.post(
            f"/v1/incidents/{before.json()['incident_id']}/notes",
            json={"kind": "diagnosis", "text": f"the {word} cache is cold"},
            headers=auth(tokens, "responder"),
        )
    assert noted.status_code == 200, noted.text
    position_before = asyncio.run(_position(settings, before.json()["incident_id"]))
    load = Load(api_url, tokens)
    load.start()
    try:
        time.sleep(0.5)
        result = CliRunner().invoke(app, ["rebuild"])
    finally:
        load.stopped.set()
        load.join()
    assert result.exit_code == 0, result.output
    lines = dict(line.split(":", 1) for line in result.output.splitlines() if ":" in line)
    assert lines["live checksum"].strip() == lines["rebuilt checksum"].strip()
    assert "swapped; the previous tables are in schema retired_" in result.output

    assert load.locations and not load.refused, "commands kept being taken during the rebuild"
    assert set(_verdicts(api_url, tokens, load.locations)) == {"accepted"}, "nothing lost across the swap"
    with httpx.Client(base_url=api_url, timeout=30) as client:
        incident_id = before.json()["incident_id"]
        assert client.get(f"/v1/incidents/{incident_id}", headers=auth(tokens, "auditor")).status_code == 200
        after = client.post(f"/v1/incidents/{incident_id}/acknowledge", json={}, headers=auth(tokens, "responder"))
        assert after.status_code == 200, "the live projector writes into the swapped-in tables"
        found = client.get("/v1/incidents", params={"q": word}, headers=auth(tokens, "auditor")).json()["items"]
        assert [i["incident_id"] for i in found] == [incident_id], "notes stay searchable in the rebuilt tables"
    assert asyncio.run(_position(settings, incident_id)) == position_before, "Last-Event-ID stays valid"
    report = asyncio.run(check(settings))
    assert report.ok, report.differences[:20]


def test_rebuild_without_swap_leaves_a_verifiable_copy(settings: CommonSettings, api_url: str) -> None:
    result = CliRunner().invoke(app, ["rebuild", "--no-swap"])
    assert result.exit_code == 0, result.output
    schema = result.output.rsplit("schema ", 1)[1].strip()
    assert schema.startswith("rebuild_")
    try:
        copy = CliRunner().invoke(app, ["verify", "--schema", schema])
        assert copy.exit_code == 0, copy.output
    finally:
        asyncio.run(_drop(settings, schema))


async def _drop(settings: CommonSettings, schema: str) -> None:
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await conn.close()


def test_rebuild_split_over_worker_processes_swaps_the_same_model(
    settings: CommonSettings, api_url: str, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker-process path (used from 100,000 records behind) on this session's log: same checksums, swap."""
    with httpx.Client(base_url=api_url, timeout=30) as client:
        made = client.post("/v1/incidents", json={"title": "split", "service": "rb"}, headers=auth(tokens, "reporter"))
    assert made.status_code == 201, made.text
    incident_id = made.json()["incident_id"]
    position_before = asyncio.run(_position(settings, incident_id))
    monkeypatch.setattr(rebuild_workers, "PARALLEL_FROM", 0)
    report = asyncio.run(rebuild(settings, processes=2))
    assert report.equal, (report.live_checksum, report.rebuilt_checksum)
    assert report.retired is not None
    assert report.records >= asyncio.run(_events_on_log(settings)), "every record projected once by some worker"
    assert asyncio.run(_position(settings, incident_id)) == position_before
    with httpx.Client(base_url=api_url, timeout=30) as client:
        got = client.get(f"/v1/incidents/{incident_id}", headers=auth(tokens, "auditor"))
    assert got.status_code == 200 and got.json()["title"] == "split"
    assert asyncio.run(check(settings)).ok


def test_a_damaged_event_row_makes_the_checksums_differ(settings: CommonSettings, api_url: str) -> None:
    """Every column of an event row but its position is in the checksum: the live rows are kept on a match."""
    event_id, original = asyncio.run(_set_actor(settings, None, "mallory"))
    try:
        result = CliRunner().invoke(app, ["rebuild", "--no-swap"])
    finally:
        asyncio.run(_set_actor(settings, event_id, original))
    assert result.exit_code == 1, result.output
    lines = dict(line.split(":", 1) for line in result.output.splitlines() if ":" in line)
    assert lines["live checksum"].strip() != lines["rebuilt checksum"].strip()
    asyncio.run(_drop(settings, result.output.rsplit("schema ", 1)[1].strip()))


async def _events_on_log(settings: CommonSettings) -> int:
    conn = await asyncpg.connect(settings.database_url)
    try:
        count: int = await conn.fetchval("SELECT count(*) FROM event_verdicts")
        return count
    finally:
        await conn.close()


async def _set_actor(settings: CommonSettings, event_id: uuid.UUID | None, actor: str) -> tuple[uuid.UUID, str]:
    """Overwrite one live event row's actor_id (the first event when `event_id` is None); the id and old value."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        row = await conn.fetchrow(
            "SELECT event_id, actor_id FROM incident_events"
            " WHERE event_id = $1 OR $1 IS NULL ORDER BY position LIMIT 1",
            event_id,
        )
        assert row is not None
        await conn.execute("UPDATE incident_events SET actor_id = $2 WHERE event_id = $1", row["event_id"], actor)
        return row["event_id"], row["actor_id"]
    finally:
        await conn.close()
