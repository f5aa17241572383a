"""incidentctl simulate against the real log: a stricter policy escalates more on the same history."""

import asyncio
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.integration.helpers import auth, log_incident
from tests.integration.services import BIN, ROOT

CURRENT = ROOT / "examples" / "policies" / "fast-demo.yaml"
HEAD = """
channels:
  leads: {kind: slack, url: "http://127.0.0.1:9/hooks/leads"}
  heads: {kind: webhook, url: "http://127.0.0.1:9/hooks/heads"}
  oncall: {kind: webhook, url: "http://127.0.0.1:9/hooks/oncall"}
teams:
  team-leads: {channels: [leads]}
  head-of-operations: {channels: [heads, oncall]}
"""
STRICTER = f"""id: stricter
version: 1
{HEAD}
priorities:
  P1:
    acknowledge: 1s
    resolve: 1m
    steps:
      - {{after: 1s, level: 2, team: team-leads}}
      - {{after: 2s, level: 3, team: head-of-operations}}
    repeat: {{times: 3, every: 1s}}
  P2: {{acknowledge: 1s, resolve: 1m, steps: [{{after: 1s, level: 2, team: team-leads}}]}}
  P3: {{acknowledge: 1s, resolve: 1m, steps: [{{after: 1s, level: 2, team: team-leads}}]}}
  P4: {{acknowledge: 1d, resolve: 5d}}
  P5: {{acknowledge: 2d, resolve: 10d}}
"""
LAXER = f"""id: laxer
version: 1
{HEAD}
priorities:
  P1: {{acknowledge: 1h, resolve: 1d, steps: [{{after: 1h, level: 2, team: team-leads}}]}}
  P2: {{acknowledge: 4h, resolve: 2d}}
  P3: {{acknowledge: 1d, resolve: 5d}}
  P4: {{acknowledge: 2d, resolve: 10d}}
  P5: {{acknowledge: 4d, resolve: 20d}}
"""


def _simulate(policy: Path, since: datetime, until: datetime) -> subprocess.CompletedProcess[str]:
    args = ["simulate", "--policy", str(policy), "--current", str(CURRENT), "--format", "json"]
    args += ["--since", since.isoformat(), "--until", until.isoformat()]
    return subprocess.run([str(BIN / "incidentctl"), *args], capture_output=True, text=True, timeout=120, check=False)


async def _post(api: httpx.AsyncClient, tokens: dict[str, str], incident: str, action: str, **body: Any) -> None:
    answer = await api.post(f"/v1/incidents/{incident}/{action}", json=body, headers=auth(tokens, "responder"))
    assert answer.status_code == 200, (action, answer.text)


async def _history(api: httpx.AsyncClient, tokens: dict[str, str]) -> datetime:
    """Two P1s (one acknowledged at once, one after 5 s), then a resolved P2 and an open P3; returns their start."""
    quick = await log_incident(api, tokens, title="simulate quick", urgency="high")
    await _post(api, tokens, quick["incident_id"], "acknowledge")
    late = await log_incident(api, tokens, title="simulate late", urgency="high")
    await asyncio.sleep(5.5)
    await _post(api, tokens, late["incident_id"], "acknowledge")
    middle = datetime.now(UTC)
    resolved = await log_incident(api, tokens, title="simulate resolved")
    for action, body in (
        ("acknowledge", {}),
        ("investigate", {}),
        ("resolve", {"resolution_code": "fixed", "summary": "ok"}),
    ):
        await _post(api, tokens, resolved["incident_id"], action, **body)
    await log_incident(api, tokens, title="simulate open", impact="medium", urgency="medium")
    return middle


async def test_a_stricter_policy_escalates_and_pages_more(
    api: httpx.AsyncClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    stricter, laxer = tmp_path / "stricter.yaml", tmp_path / "laxer.yaml"
    stricter.write_text(STRICTER)
    laxer.write_text(LAXER)
    start = datetime.now(UTC)
    middle = await _history(api, tokens)
    until = datetime.now(UTC) + timedelta(minutes=2)  # open incidents run on in simulated time

    first = _simulate(stricter, start, until)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert set(report["priorities"]) == {"P1", "P2", "P3"}
    assert report["total"]["current"]["incidents"] == 4
    current, candidate = report["total"]["current"], report["total"]["candidate"]
    assert candidate["escalations"] > current["escalations"] >= 1, report["total"]
    assert candidate["pages"] > current["pages"], report["total"]
    assert report["priorities"]["P1"]["current"]["ack_breaches"] == 1, "the late P1 missed fast-demo's 5 s"
    assert report["priorities"]["P3"]["candidate"]["unacknowledged"] == 1

    lax = json.loads(_simulate(laxer, start, until).stdout)["total"]
    assert lax["candidate"]["escalations"] <= lax["current"]["escalations"]
    assert lax["candidate"]["pages"] <= lax["current"]["pages"]

    again = _simulate(stricter, start, until)
    assert again.stdout == first.stdout, "the same log and policies give the same report, byte for byte"

    later = json.loads(_simulate(stricter, middle, until).stdout)
    assert later["total"]["current"]["incidents"] == 2 and set(later["priorities"]) == {"P2", "P3"}
