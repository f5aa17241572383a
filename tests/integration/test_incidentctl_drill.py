"""`incidentctl drill` replays a past incident through the real command API as a new incident with source drill."""

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from incidents_shared.domain.events import BOOKKEEPING_TYPES
from tests.integration.helpers import auth, eventually, log_incident
from tests.integration.services import BIN


def _incidentctl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [str(BIN / "incidentctl"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, env=env)


async def _people_events(api: httpx.AsyncClient, tokens: dict[str, str], incident_id: str) -> list[str]:
    response = await api.get(f"/v1/incidents/{incident_id}/timeline", headers=auth(tokens, "manager"))
    if response.status_code == 404:  # not projected yet
        return []
    assert response.status_code == 200, response.text
    return [ev["type"] for ev in response.json()["events"] if ev["type"] not in BOOKKEEPING_TYPES]


async def _projected_until(api: httpx.AsyncClient, tokens: dict[str, str], incident_id: str, last: str) -> list[str]:
    async def done() -> list[str]:
        found = await _people_events(api, tokens, incident_id)
        return found if found and found[-1] == last else []

    found: list[str] = await eventually(done)
    return found


async def _walk(api: httpx.AsyncClient, tokens: dict[str, str], incident_id: str) -> None:
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("responder", "categorize", {"category": "software", "subcategory": "application"}),
        ("responder", "assign", {"team": "payments", "assignee": "carol"}),
        ("responder", "acknowledge", {"comment": "on it"}),
        ("responder", "investigate", {}),
        ("responder", "notes", {"kind": "diagnosis", "text": "pool exhausted"}),
        ("responder", "hold", {"reason": "awaiting_vendor", "comment": "ticket 4711"}),
        ("responder", "resume", {}),
        ("manager", "escalate", {"target_team": "dba-leads", "comment": "needs a senior DBA"}),
        ("reporter", "updates", {"message": "Fix under way"}),
        ("responder", "resolve", {"summary": "pool size raised", "root_cause": "pool leak"}),
        ("manager", "close", {}),
    ]
    for role, action, body in steps:
        response = await api.post(f"/v1/incidents/{incident_id}/{action}", json=body, headers=auth(tokens, role))
        assert response.status_code == 200, (action, response.text)


async def _summary_total(api: httpx.AsyncClient, tokens: dict[str, str], since: datetime, drills: bool) -> int:
    params = {"from": since.isoformat(), "include_drills": str(drills).lower()}
    response = await api.get("/v1/reports/summary", params=params, headers=auth(tokens, "manager"))
    assert response.status_code == 200, response.text
    return sum(g["total"] for g in response.json()["groups"])


async def test_drill_replays_an_incident_as_a_new_drill_incident(
    api: httpx.AsyncClient, api_url: str, tokens: dict[str, str], tmp_path: Path
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    # low impact and urgency: the fast test policy escalates only P1 within a test's time
    original = await log_incident(api, tokens, title="drill source", impact="low", urgency="low")
    original_id = original["incident_id"]
    await _walk(api, tokens, original_id)
    original_events = await _projected_until(api, tokens, original_id, "incident.closed")
    assert len(original_events) == 12, original_events
    without_drills = await _summary_total(api, tokens, since, drills=False)

    token_file = tmp_path / "token"
    token_file.write_text(tokens["manager"])
    args = ["drill", "--from", original_id, "--speed", "0", "--api", api_url, "--token-file", str(token_file)]
    result = _incidentctl(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("drill incident ")
    drill_id = lines[0].split()[-1]
    assert drill_id != original_id
    assert len(lines) == 1 + len(original_events)  # the id, then a line per step

    assert await _projected_until(api, tokens, drill_id, "incident.closed") == original_events
    drill = (await api.get(f"/v1/incidents/{drill_id}", headers=auth(tokens, "manager"))).json()
    assert drill["source"] == "drill"
    assert drill["status"] == "closed"
    assert drill["title"] == "[drill] drill source"
    assert drill["labels"]["drill_from"] == original_id
    assert await _people_events(api, tokens, original_id) == original_events  # the original is untouched

    assert await _summary_total(api, tokens, since, drills=False) == without_drills
    assert await _summary_total(api, tokens, since, drills=True) == without_drills + 1


def test_drill_needs_a_token(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = _incidentctl("drill", "--from", "8e0f7a3c-1d2b-4c5d-9e6f-7a8b9c0d1e2f", "--speed", "0", env=env)
    assert result.returncode != 0
    assert "INCIDENTS_DRILL_TOKEN" in result.stderr
