"""`incidentctl rebuild` under load: the rebuilt read model equals the live one and replaces it in place.

Run in-process (typer's runner) so it reads the log with the same decoders as the session's invariant check.
"""

import asyncio
import threading
import time
import uuid

import asyncpg
import httpx
from typer.testing import CliRunner

from incidentctl.checker import check
from incidentctl.main import app
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
