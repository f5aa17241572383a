"""Grouping rules for generic alerts on the real stack (0077): an API whose alert mapping groups a service's alerts
by alertname within 3 s opens one incident for the same alert from 10 hosts, recording all 10; a new host's
alert after the window opens a second incident, while a re-send of a recorded one still joins the first."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.integration.helpers import auth, eventually
from tests.integration.services import Service
from tests.integration.test_alertmanager import free_port

pytestmark = pytest.mark.integration
WINDOW_S = 3
SERVICE = f"checkout-{uuid.uuid4().hex[:8]}"
MAPPING = {"version": 2, "grouping": [{"match": {"service": SERVICE}, "by": ["alertname"], "window": f"{WINDOW_S}s"}]}


@pytest.fixture(scope="module")
def grouping_api(tmp_path_factory: pytest.TempPathFactory, api_url: str) -> Iterator[str]:
    """A second command API on the same log and read model, with the test's grouping rule."""
    mapping = tmp_path_factory.mktemp("mapping") / "alert-mapping.yaml"
    mapping.write_text(json.dumps(MAPPING))
    api = Service("command-api", free_port(), env={"INCIDENTS_ALERT_MAPPING_FILE": str(mapping)})
    api.start()
    try:
        yield api.url
    finally:
        assert api.stop() == 0


@pytest.fixture
async def grouping(grouping_api: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=grouping_api, timeout=30) as client:
        yield client


def alert(name: str, host: str, status: str = "firing") -> dict[str, Any]:
    labels = {"alertname": name, "instance": host}
    return {"summary": f"{name} on {host}", "service": SERVICE, "status": status, "labels": labels}


async def post(client: httpx.AsyncClient, tokens: dict[str, str], *alerts: dict[str, Any]) -> list[dict[str, Any]]:
    answer = await client.post("/v1/alerts", json=list(alerts), headers=auth(tokens, "integration"))
    assert answer.status_code == 200, answer.text
    results: list[dict[str, Any]] = answer.json()["results"]
    return results


async def incident(api: httpx.AsyncClient, tokens: dict[str, str], incident_id: str) -> dict[str, Any]:
    answer = await api.get(f"/v1/incidents/{incident_id}", headers=auth(tokens, "auditor"))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_ten_hosts_within_the_window_open_one_incident_and_a_new_alert_after_it_a_second(
    grouping: httpx.AsyncClient, api: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    name = f"Checkout5xx{uuid.uuid4().hex[:8]}"
    answers = await asyncio.gather(*(post(grouping, tokens, alert(name, f"host{n}")) for n in range(10)))
    ids = {results[0]["incident_id"] for results in answers}
    assert len(ids) == 1, answers
    assert sorted(r[0]["outcome"] for r in answers).count("opened") == 1
    [first] = ids

    async def all_ten() -> dict[str, Any] | None:
        found = await incident(api, tokens, first)
        return found if found["alerts_firing"] == 10 else None

    opened = await eventually(all_ten, 15)
    assert opened is not None, await incident(api, tokens, first)
    assert (opened["title"], opened["service"], opened["alert_count"]) == (name, SERVICE, 10)
    assert sorted(opened["firing_instances"]) == sorted(f"host{n}" for n in range(10))
    timeline = await api.get(f"/v1/incidents/{first}/timeline", headers=auth(tokens, "auditor"))
    recorded = [ev["data"] for ev in timeline.json()["events"] if ev["type"] == "incident.alerts_recorded"]
    assert sum(len(data["alerts"]) for data in recorded) == 10 and {d["mapping_version"] for d in recorded} == {2}

    await asyncio.sleep(WINDOW_S + 1.5)
    [resend] = await post(grouping, tokens, alert(name, "host3"))
    assert (resend["outcome"], resend["incident_id"]) == ("ignored", first), "a re-send joins what it fired on"
    [later] = await post(grouping, tokens, alert(name, "host10"))
    assert later["outcome"] == "opened" and later["incident_id"] != first
    [joined] = await post(grouping, tokens, alert(name, "host11"))
    assert (joined["outcome"], joined["incident_id"]) == ("correlated", later["incident_id"])
    assert (await incident(api, tokens, first))["alerts_firing"] == 10, "the first incident keeps its alerts"
