"""No paging storms on the real stack, counted at a real webhook receiver: 50 new P2s for one team within a
minute page its on-call at most `max_pages` times (fast-demo: 3 within 20 s), then once more with one page listing
every other incident, each with an acknowledge link that works; every incident's timeline has its page, the held
ones naming the digest they went into."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from incidents_shared.policy_file import load_policy_file
from tests.integration.conftest import WEBHOOK_PORT
from tests.integration.helpers import auth, eventually
from tests.integration.services import ROOT
from tests.integration.webhook import Received, Receiver, running_receiver

pytestmark = pytest.mark.integration
HOOKS = f"http://127.0.0.1:{WEBHOOK_PORT}/hooks"
STORM = load_policy_file(ROOT / "examples" / "policies" / "fast-demo.yaml", {}).storm
INCIDENTS = 50


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver(WEBHOOK_PORT) as running:
        yield running


async def _created(api: httpx.AsyncClient, tokens: dict[str, str], path: str, body: dict[str, Any]) -> None:
    answer = await api.post(path, json=body, headers=auth(tokens, "admin"))
    assert answer.status_code == 201, answer.text


async def a_team_with_one_oncall(api: httpx.AsyncClient, tokens: dict[str, str]) -> dict[str, str]:
    run = uuid.uuid4().hex[:8]
    ids = {"user": f"sam-{run}", "team": f"storefront-{run}", "service": f"catalog-{run}"}
    ids["schedule"] = f"{ids['team']}-oncall"
    contacts = [{"kind": "webhook", "address": f"{HOOKS}/page-{ids['user']}"}]
    user = {"id": ids["user"], "name": "Sam", "email": f"{ids['user']}@example.com", "time_zone": "UTC",
            "role": "responder", "contact_methods": contacts}  # fmt: skip
    await _created(api, tokens, "/v1/users", user)
    layer = {"name": "always", "start": "2026-01-05T09:00:00", "turn": "P1W", "users": [ids["user"]]}
    schedule = {"id": ids["schedule"], "name": "Storefront", "time_zone": "UTC", "layers": [layer]}
    await _created(api, tokens, "/v1/schedules", schedule)
    await _created(api, tokens, "/v1/teams", {"id": ids["team"], "name": "Storefront", "members": [ids["user"]],
                                              "schedule": ids["schedule"]})  # fmt: skip
    await _created(api, tokens, "/v1/services", {"id": ids["service"], "name": "Catalog", "owner_team": ids["team"]})
    return ids


async def a_p2(api: httpx.AsyncClient, tokens: dict[str, str], service: str, n: int) -> str:
    body = {"title": f"Catalog 5xx on host{n}", "service": service, "impact": "high", "urgency": "medium"}
    answer = await api.post("/v1/incidents", json=body, headers=auth(tokens, "reporter"))
    assert answer.status_code == 201, answer.text
    incident_id: str = answer.json()["incident_id"]
    return incident_id


async def test_fifty_new_incidents_page_the_oncall_at_most_max_pages_times_plus_one_digest(
    api: httpx.AsyncClient, tokens: dict[str, str], receiver: Receiver
) -> None:
    assert STORM is not None and STORM.window <= timedelta(seconds=30), "fast-demo keeps the storm window short"
    team = await a_team_with_one_oncall(api, tokens)
    path = f"/hooks/page-{team['user']}"
    started = datetime.now(UTC)
    incidents: list[str] = []
    for batch in range(0, INCIDENTS, 10):  # 50 within a few seconds, well inside the window and the minute
        incidents += await asyncio.gather(*(a_p2(api, tokens, team["service"], n) for n in range(batch, batch + 10)))
    assert datetime.now(UTC) - started < min(STORM.window, timedelta(minutes=1))

    def received() -> list[Received]:
        return [r for r in receiver.requests if r.path == path]

    async def digested() -> list[Received]:
        return [r for r in received() if r.body.get("reason") == "digest"]

    [digest] = await eventually(digested, timeout_s=STORM.window.total_seconds() + 30)
    await asyncio.sleep(3)  # anything more would come right after
    individual = [r for r in received() if r.body.get("reason") == "step"]
    assert len(individual) == STORM.max_pages, f"{STORM.max_pages} individual pages, no more"
    assert [r.body.get("reason") for r in received()].count("digest") == 1, "exactly one consolidated page"
    assert len(received()) == len(individual) + 1, "nothing else reached the on-call"

    listed = [item["incident_id"] for item in digest.body["incidents"]]
    paged = [r.body["incident_id"] for r in individual]
    assert sorted(listed + paged) == sorted(incidents), "every incident: paged alone or listed once"
    assert digest.body["total"] == len(listed) == INCIDENTS - len(individual)
    assert all(item["links"]["acknowledge"] for item in digest.body["incidents"])

    for incident_id in incidents:
        timeline = (await api.get(f"/v1/incidents/{incident_id}/timeline", headers=auth(tokens, "auditor"))).json()
        own = [ev for ev in timeline["events"] if ev["type"] == "incident.paged" and ev["data"]["reason"] == "step"]
        assert len(own) == 1, f"{incident_id}: its own page on its timeline"
        held = own[0]["data"].get("consolidated_into")
        assert held == (digest.body["page_id"] if incident_id in listed else None)

    first = digest.body["incidents"][0]
    acked = await api.post(first["links"]["acknowledge"], json={})
    assert acked.status_code == 200, acked.text
    assert acked.json()["status"] == "acknowledged"
    timeline = await api.get(f"/v1/incidents/{first['incident_id']}/timeline", headers=auth(tokens, "auditor"))
    [ack] = [ev for ev in timeline.json()["events"] if ev["type"] == "incident.acknowledged"]
    assert (ack["actor"]["id"], ack["data"]["page_link"]) == (team["user"], first["page_id"]), "by the held page"
