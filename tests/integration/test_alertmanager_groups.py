"""One incident per Alertmanager notification group, with a real Alertmanager (`group_by: [alertname]`) posting to
an API whose alert mapping makes severity `page` a P2 (which pages the owning team's on-call at once): 300 firing
alerts of one group are 1 incident with 300 alerts recorded and 1 page at a real receiver, and resolve with their
last alert; 1,000 alerts in 10 groups are 10 incidents; a route of the mapping switches a receiver back to one
incident per alert."""

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.integration.conftest import WEBHOOK_PORT
from tests.integration.helpers import auth, eventually
from tests.integration.services import Service
from tests.integration.test_alertmanager import (
    FAST,
    alertmanager_client,
    free_port,
    running_alertmanager,
    webhook_receiver,
)
from tests.integration.webhook import Receiver, running_receiver

pytestmark = pytest.mark.integration
HOOKS = f"http://127.0.0.1:{WEBHOOK_PORT}/hooks"
MAPPING = {
    "version": 2,
    "severities": {
        "critical": {"impact": "high", "urgency": "high"},
        "page": {"impact": "high", "urgency": "medium"},
        "warning": {"impact": "medium", "urgency": "medium"},
        "info": {"impact": "low", "urgency": "low"},
    },
    "alertmanager_routes": [{"receiver": "per-alert", "incident_per": "alert"}],
}


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver(WEBHOOK_PORT) as running:
        yield running


@pytest.fixture(scope="module")
def grouped_api(tmp_path_factory: pytest.TempPathFactory, api_url: str) -> Iterator[str]:
    """A second command API on the same log and read model, with the test's alert mapping file."""
    mapping = tmp_path_factory.mktemp("mapping") / "alert-mapping.yaml"
    mapping.write_text(json.dumps(MAPPING))
    api = Service("command-api", free_port(), env={"INCIDENTS_ALERT_MAPPING_FILE": str(mapping)})
    api.start()
    try:
        yield api.url
    finally:
        assert api.stop() == 0


@pytest.fixture
async def am(tmp_path: Path, grouped_api: str, tokens: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    token = tokens["integration"]
    config = {
        "route": {
            "receiver": "grouped",
            "group_by": ["alertname"],
            **FAST,
            "routes": [{"matchers": ['mode="per-alert"'], "receiver": "per-alert"}],
        },
        "receivers": [
            webhook_receiver("grouped", grouped_api, token),
            webhook_receiver("per-alert", grouped_api, token),
        ],
    }
    with running_alertmanager(tmp_path, config) as url:
        async with alertmanager_client(url) as client:
            yield client


async def an_oncall(api: httpx.AsyncClient, tokens: dict[str, str]) -> tuple[str, str]:
    """One person always on call for a team that owns a service, paged by one webhook: (user, service)."""
    run = uuid.uuid4().hex[:8]
    who, team, service = f"olga-{run}", f"shop-{run}", f"checkout-{run}"
    contacts = [{"kind": "webhook", "address": f"{HOOKS}/page-{who}"}]
    user = {"id": who, "name": "Olga", "email": f"{who}@example.com", "time_zone": "UTC", "role": "responder",
            "contact_methods": contacts}  # fmt: skip
    layer = {"name": "always", "start": "2026-01-01T00:00:00", "turn": "P1D", "users": [who]}
    schedule = {"id": f"{team}-rota", "name": "Shop", "time_zone": "UTC", "layers": [layer]}
    team_body = {"id": team, "name": "Shop", "members": [who], "schedule": schedule["id"]}
    for path, body in (("/v1/users", user), ("/v1/schedules", schedule), ("/v1/teams", team_body),
                       ("/v1/services", {"id": service, "name": "Checkout", "owner_team": team})):  # fmt: skip
        answer = await api.post(path, json=body, headers=auth(tokens, "admin"))
        assert answer.status_code == 201, answer.text
    return who, service


def alerts(name: str, count: int, severity: str, start: int = 0, **labels: str) -> list[dict[str, Any]]:
    now = datetime.now(UTC).isoformat()
    return [
        {
            "labels": {"alertname": name, "severity": severity, "instance": f"host{n}", **labels},
            "annotations": {"summary": f"checkout 5xx on host{n}"},
            "startsAt": now,
        }
        for n in range(start, start + count)
    ]


async def by_label(api: httpx.AsyncClient, tokens: dict[str, str], *labels: str) -> list[dict[str, Any]]:
    answer = await api.get(
        "/v1/incidents", params={"label": list(labels), "limit": 50}, headers=auth(tokens, "auditor")
    )
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def test_one_group_of_300_firing_alerts_is_one_incident_paging_once_that_resolves_with_its_alerts(
    am: httpx.AsyncClient,
    api: httpx.AsyncClient,
    grouped_api: str,
    tokens: dict[str, str],
    receiver: Receiver,
    db: asyncpg.Connection,
) -> None:
    who, service = await an_oncall(api, tokens)
    name = f"CheckoutErrors{uuid.uuid4().hex[:8]}"
    firing = alerts(name, 300, "page", service=service)
    assert (await am.post("/api/v2/alerts", json=firing)).status_code == 200

    async def all_recorded() -> list[dict[str, Any]]:
        found = await by_label(api, tokens, f"alertname:{name}")
        return found if found and found[0]["alerts_firing"] == 300 else []

    [incident] = await eventually(all_recorded, 30)
    assert (incident["priority"], incident["service"], incident["title"]) == ("P2", service, name)
    assert (len(incident["group_alerts"]), incident["alert_count"], len(incident["firing_instances"])) == (300, 300, 50)

    async def paged() -> list[Any]:
        return [r for r in receiver.requests if r.path == f"/hooks/page-{who}"]

    [page] = await eventually(paged, 15)
    assert page.body["incident_id"] == incident["incident_id"]
    await asyncio.sleep(6)  # Alertmanager sends the unchanged group again every 2 s
    assert len(await paged()) == 1, "the on-call is paged once for the whole group"
    assert await _ignored_by(grouped_api) >= 300, "Alertmanager did send the group again: every alert ignored"
    timeline = await api.get(f"/v1/incidents/{incident['incident_id']}/timeline", headers=auth(tokens, "auditor"))
    parts = [ev["data"] for ev in timeline.json()["events"] if ev["type"] == "incident.alerts_recorded"]
    assert [(p["part"], p["parts"], len(p["alerts"])) for p in parts] == [(1, 3, 100), (2, 3, 100), (3, 3, 100)]
    assert {a["fingerprint"] for p in parts for a in p["alerts"]} == set(incident["group_alerts"])

    ended = [{**alert, "endsAt": datetime.now(UTC).isoformat()} for alert in firing]
    assert (await am.post("/api/v2/alerts", json=ended)).status_code == 200

    async def resolved() -> list[dict[str, Any]]:
        found = await by_label(api, tokens, f"alertname:{name}")
        return found if found and found[0]["status"] == "resolved" else []

    [done] = await eventually(resolved, 30)
    assert (done["resolution_code"], done["alerts_firing"], done["firing_instances"]) == ("auto_resolved", 0, [])
    rows = await db.fetch("SELECT incident_id FROM incidents WHERE state->'labels'->>'alertname' = $1", name)
    assert len(rows) == 1, "exactly one incident, from its first notification to its last"
    assert len(await paged()) == 1


async def _ignored_by(api_url: str) -> float:
    """How many alerts the API answered `ignored` (unchanged) from Alertmanager, by its metrics."""
    async with httpx.AsyncClient(base_url=api_url, timeout=10) as client:
        text = (await client.get("/metrics")).text
    pattern = r'^api_alerts_total\{outcome="ignored",source="alertmanager"\} (\S+)$'
    return sum(float(m) for m in re.findall(pattern, text, re.MULTILINE))


async def test_1000_alerts_in_10_groups_are_10_incidents(
    am: httpx.AsyncClient, api: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    run = uuid.uuid4().hex[:8]
    names = [f"DiskFull{run}x{group}" for group in range(10)]
    batch = [alert for n in range(1000) for alert in alerts(names[n % 10], 1, "warning", start=n, run=run)]
    assert (await am.post("/api/v2/alerts", json=batch)).status_code == 200

    async def ten() -> list[dict[str, Any]]:
        found = await by_label(api, tokens, f"run:{run}")
        return found if len(found) == 10 and all(i["alerts_firing"] == 100 for i in found) else []

    incidents = await eventually(ten, 45)
    assert sorted(i["title"] for i in incidents) == sorted(names)
    assert {i["priority"] for i in incidents} == {"P3"} and {i["source"] for i in incidents} == {"alert"}
    [seventh] = await by_label(api, tokens, "instance:host7", f"run:{run}")
    assert seventh["title"] == names[7], "an alert's own label finds its group's incident"
    assert [i["title"] for i in await by_label(api, tokens, f"alertname:{names[3]}")] == [names[3]]


async def test_a_receiver_the_mapping_switches_back_opens_one_incident_per_alert(
    am: httpx.AsyncClient, api: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    name = f"Legacy{uuid.uuid4().hex[:8]}"
    assert (await am.post("/api/v2/alerts", json=alerts(name, 3, "warning", mode="per-alert"))).status_code == 200

    async def three() -> list[dict[str, Any]]:
        found = await by_label(api, tokens, f"alertname:{name}")
        return found if len(found) == 3 else []

    incidents = await eventually(three, 30)
    assert sorted(i["labels"]["instance"] for i in incidents) == ["host0", "host1", "host2"]
    assert all(i["group_alerts"] == {} for i in incidents), "each is an incident of one alert, not of a group"
