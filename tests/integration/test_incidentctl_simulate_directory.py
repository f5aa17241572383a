"""`incidentctl simulate --directory` against the real log and directory topic: a rota made through the API pages
Ann for three P2s; a candidate that gives the hours around now to Bob in New York moves every page (and every
night page) off Ann, and a candidate that leaves those hours empty shows the gap and the escalations that fell
through it. "Night" is the two hours around the time the test runs, in Amsterdam, so the numbers do not depend
on when it runs."""

import asyncio
import json
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml

from incidents_shared.domain.events import IncidentAcknowledged, IncidentPaged
from incidents_shared.domain.walk import decode_records
from incidents_shared.settings import CommonSettings
from tests.integration.conftest import WEBHOOK_PORT
from tests.integration.helpers import auth, eventually, records_in_log
from tests.integration.services import BIN, ROOT
from tests.integration.webhook import Receiver, running_receiver

pytestmark = pytest.mark.integration
CURRENT = ROOT / "examples" / "policies" / "fast-demo.yaml"  # the escalator's policy in the tests
HOOKS = f"http://127.0.0.1:{WEBHOOK_PORT}/hooks"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
LATER_S = 8  # Ann's second contact method: the first two P2s are acknowledged well before it


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver(WEBHOOK_PORT) as running:
        yield running


async def simulate(*args: str) -> subprocess.CompletedProcess[str]:
    """`incidentctl simulate` as a user runs it (in a thread: the receiver shares this event loop)."""
    command = [str(BIN / "incidentctl"), "simulate", "--current", str(CURRENT), *args]
    run = subprocess.run
    return await asyncio.to_thread(run, command, capture_output=True, text=True, timeout=180, check=False)


async def _created(api: httpx.AsyncClient, tokens: dict[str, str], path: str, body: dict[str, Any]) -> None:
    answer = await api.post(path, json=body, headers=auth(tokens, "admin"))
    assert answer.status_code == 201, answer.text


def _user(who: str, zone: str, later: bool) -> dict[str, Any]:
    contacts = [{"kind": "webhook", "address": f"{HOOKS}/page-{who}"}]
    if later:
        contacts.append({"kind": "webhook", "address": f"{HOOKS}/page-{who}-later", "delay": f"{LATER_S}s"})
    return {"id": who, "name": who.title(), "email": f"{who}@example.com", "time_zone": zone, "role": "responder",
            "contact_methods": contacts}  # fmt: skip


ALWAYS = {"name": "weekly", "start": "2026-01-05T09:00:00", "turn": "P1W"}


async def a_rota(api: httpx.AsyncClient, tokens: dict[str, str]) -> dict[str, str]:
    """Ann (Amsterdam) on call around the clock for the team owning a service; Bob (New York) in the team."""
    run = uuid.uuid4().hex[:8]
    ids = {"ann": f"ann-{run}", "bob": f"bob-{run}", "team": f"payments-{run}", "service": f"checkout-{run}"}
    ids["schedule"] = f"{ids['team']}-oncall"
    await _created(api, tokens, "/v1/users", _user(ids["ann"], "Europe/Amsterdam", later=True))
    await _created(api, tokens, "/v1/users", _user(ids["bob"], "America/New_York", later=False))
    layer = {**ALWAYS, "users": [ids["ann"]]}
    schedule = {"id": ids["schedule"], "name": "Payments", "time_zone": "Europe/Amsterdam", "layers": [layer]}
    await _created(api, tokens, "/v1/schedules", schedule)
    team = {"id": ids["team"], "name": "Payments", "members": [ids["ann"], ids["bob"]], "schedule": ids["schedule"]}
    await _created(api, tokens, "/v1/teams", team)
    await _created(api, tokens, "/v1/services", {"id": ids["service"], "name": "Checkout", "owner_team": ids["team"]})
    return ids


async def _pages(settings: CommonSettings, incident_id: str, count: int) -> list[IncidentPaged]:
    async def enough() -> list[IncidentPaged]:
        records = [r for r in await records_in_log(settings) if r.incident_key == incident_id]
        pages = [d.event for d in decode_records(records) if isinstance(d.event, IncidentPaged)]
        return pages if len(pages) >= count else []

    found: list[IncidentPaged] = await eventually(enough, timeout_s=15)
    assert found, f"{count} page(s) of {incident_id} in the log"
    return found


async def a_p2_paged(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings, service: str, pages: int
) -> str:
    """A P2 of `service`, acknowledged once the escalator's log shows `pages` pages of it (none races the ack)."""
    body = {"title": f"Card payments fail {uuid.uuid4()}", "service": service, "impact": "high", "urgency": "medium"}
    answer = await api.post("/v1/incidents", json=body, headers=auth(tokens, "reporter"))
    assert answer.status_code == 201, answer.text
    incident_id: str = answer.json()["incident_id"]
    await _pages(settings, incident_id, pages)
    acked = await api.post(f"/v1/incidents/{incident_id}/acknowledge", json={}, headers=auth(tokens, "responder"))
    assert acked.status_code == 200, acked.text
    return incident_id


def hours_around(now: datetime) -> tuple[str, str]:
    """The two hours around `now` in Amsterdam as HH:MM (5 or 6 hours from the same hours in New York)."""
    local = now.astimezone(AMSTERDAM)
    return f"{local - timedelta(hours=1):%H:%M}", f"{local + timedelta(hours=1):%H:%M}"


def candidate(path: Path, ids: dict[str, str], layers: list[dict[str, Any]]) -> Path:
    """Only the schedule, changed: the rest of the directory stays as it is (as `directory apply` would)."""
    schedule = {"id": ids["schedule"], "name": "Payments", "time_zone": "Europe/Amsterdam", "layers": layers}
    path.write_text(yaml.safe_dump({"schedules": [schedule]}, sort_keys=False))
    return path


def person(report: dict[str, Any], who: str, side: str) -> tuple[int, int, int]:
    row = report["people"].get(who, {}).get(side) or {"pages": 0, "night_pages": 0, "incidents": 0}
    return row["pages"], row["night_pages"], row["incidents"]


async def test_a_candidate_rota_moves_the_pages_and_a_gap_shows_what_fell_through(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings, receiver: Receiver, tmp_path: Path
) -> None:
    since = datetime.now(UTC)
    ids = await a_rota(api, tokens)
    night_from, night_to = hours_around(since)
    incidents = [await a_p2_paged(api, tokens, settings, ids["service"], 1) for _ in range(2)]
    incidents.append(await a_p2_paged(api, tokens, settings, ids["service"], 2))  # its later contact method too
    until = datetime.now(UTC) + timedelta(seconds=1)
    window = ["--since", since.isoformat(), "--until", until.isoformat(), "--night", f"{night_from}-{night_to}"]

    around = {"kind": "daily", "start": night_from, "end": night_to}
    nights = {"name": "nights", "start": "2026-01-01T00:00:00", "turn": "P1D", "users": [ids["bob"]],
              "restrictions": [around]}  # fmt: skip
    to_bob = candidate(tmp_path / "to-bob.yaml", ids, [{**ALWAYS, "users": [ids["ann"]]}, nights])
    moved = await simulate("--directory", str(to_bob), "--json", *window)
    assert moved.returncode == 0, moved.stderr
    report = json.loads(moved.stdout)
    assert report["total"]["current"]["incidents"] == 3
    assert person(report, ids["ann"], "current") == (4, 4, 3), "one page per contact method, all in her night"
    assert person(report, ids["ann"], "candidate") == (0, 0, 0)
    assert person(report, ids["bob"], "candidate") == (3, 0, 3), "the same hours are daytime in New York"
    assert report["people"][ids["bob"]]["candidate"]["time_zone"] == "America/New_York"
    rota = report["schedules"][ids["schedule"]]
    assert rota["changed"] and rota["current"]["gap_count"] == rota["candidate"]["gap_count"] == 0
    assert "end of the log" in report["directories"]["current"]

    days_only = {**ALWAYS, "users": [ids["ann"]], "restrictions": [{**around, "start": night_to, "end": night_from}]}
    gap = await simulate("--directory", str(candidate(tmp_path / "gap.yaml", ids, [days_only])), "--json", *window)
    assert gap.returncode == 0, gap.stderr
    report = json.loads(gap.stdout)
    assert person(report, ids["ann"], "candidate") == (0, 0, 0)
    rota = report["schedules"][ids["schedule"]]
    assert rota["current"]["fell_through"] == 0 and rota["candidate"]["fell_through"] == 3, rota
    [hole] = rota["candidate"]["gaps"]
    assert hole["duration_s"] == pytest.approx((until - since).total_seconds(), abs=1), "the whole span"
    escalations = report["total"]["candidate"]["escalations"] - report["total"]["current"]["escalations"]
    assert escalations == 3, "each fell through to the leads at once"

    await _the_log_agrees(settings, incidents, ids["ann"])
    text = await simulate("--directory", str(to_bob), *window)
    assert text.returncode == 0, text.stderr
    [row] = [line.split() for line in text.stdout.splitlines() if line.strip().startswith(ids["ann"])]
    assert row[2:5] == ["4", "0", "-4"], text.stdout


async def _the_log_agrees(settings: CommonSettings, incidents: list[str], ann: str) -> None:
    """The current side is what really happened: the same pages of Ann are in the log before each ack."""
    records = [r for r in await records_in_log(settings) if r.incident_key in incidents]
    decoded = [(d.record.offset, d.event) for d in decode_records(records) if d.event is not None]
    acked = {str(ev.incident_id): offset for offset, ev in decoded if isinstance(ev, IncidentAcknowledged)}
    real = [ev for offset, ev in decoded if isinstance(ev, IncidentPaged) and offset < acked[str(ev.incident_id)]]
    assert sorted(ev.data.contact.index for ev in real) == [0, 0, 0, 1] and {ev.data.user for ev in real} == {ann}


async def test_a_candidate_file_that_is_not_a_directory_exits_2_naming_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("schedules:\n  - {id: x, name: X, time_zone: Mars/Olympus, layers: []}\n")
    answer = await simulate("--directory", str(bad))
    assert answer.returncode == 2, answer.stderr
    assert f"{bad}:schedules.0.time_zone" in answer.stderr
