"""incidentctl against the real log."""

import csv
import io
import json
import subprocess
from datetime import UTC, datetime

import httpx

from incidents_shared.domain.events import BOOKKEEPING_TYPES
from tests.integration.helpers import auth, log_incident
from tests.integration.services import BIN


def _incidentctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "incidentctl"), *args], capture_output=True, text=True, timeout=120, check=False)


async def test_replay_one_incident_with_rejected_events(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    created = await log_incident(api, tokens)
    incident_id = created["incident_id"]
    url = f"/v1/incidents/{incident_id}/acknowledge"
    assert (await api.post(url, json={}, headers=auth(tokens, "responder"))).status_code == 200
    stale = await api.post(url, json={}, headers=auth(tokens, "responder", **{"If-Match": '"1"'}))
    assert stale.status_code == 409  # refused by decide: nothing appended

    result = _incidentctl("replay", "--incident", incident_id, "--include-rejected")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    people = [r for r in rows if r["type"] not in BOOKKEEPING_TYPES]  # the escalator's SLA targets may be anywhere
    assert [(r["type"], r["verdict"]) for r in people] == [
        ("incident.logged", "accepted"),
        ("incident.acknowledged", "accepted"),
    ]
    versions = [r["version"] for r in rows if r["verdict"] == "accepted"]
    assert versions == list(range(1, len(versions) + 1))
    assert rows[0]["data"]["title"] == created["title"]


async def test_replay_csv_by_type_and_time_range(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    before = datetime.now(UTC)
    created = await log_incident(api, tokens, title="replay window")
    result = _incidentctl("replay", "--since", before.isoformat(), "--type", "incident.logged", "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert created["incident_id"] in {r["incident_id"] for r in rows}
    assert all(r["type"] == "incident.logged" for r in rows)
    assert all(datetime.fromisoformat(r["recorded_at"]) >= before.replace(microsecond=0) for r in rows)

    future = _incidentctl("replay", "--since", "2999-01-01T00:00:00+00:00")
    assert future.returncode == 0 and future.stdout == ""


async def test_state_as_of_equals_what_the_api_showed_then(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    created = await log_incident(api, tokens, title="state as of", impact=None, urgency=None)
    incident_id = created["incident_id"]
    acked = await api.post(f"/v1/incidents/{incident_id}/acknowledge", json={}, headers=auth(tokens, "responder"))
    shown_then = acked.json()
    moment = datetime.now(UTC)
    later = await api.post(f"/v1/incidents/{incident_id}/investigate", json={}, headers=auth(tokens, "responder"))
    assert later.status_code == 200

    result = _incidentctl("state", incident_id, "--as-of", moment.isoformat())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == shown_then
    now = json.loads(_incidentctl("state", incident_id).stdout)
    assert now["status"] == "investigating"
    before = _incidentctl("state", incident_id, "--as-of", "2000-01-01T00:00:00+00:00")
    assert before.returncode == 1 and "did not exist" in before.stderr
