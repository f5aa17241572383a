"""Heartbeats on the real stack, counted on the log and at a real webhook receiver: a heartbeat of 10 s with 5 s
of grace that stops pinging opens one incident for its service at its priority within 20 s, with two API
instances watching; a ping resolves it even though it was acknowledged. One never pinged is down 15 s after its
registration. The timing is durable: an outage that began while no API ran opens its incident once one is back."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from incidents_shared.domain.codec import decode
from incidents_shared.domain.events import IncidentLogged
from incidents_shared.settings import CommonSettings
from tests.integration.conftest import WEBHOOK_PORT
from tests.integration.helpers import auth, eventually, records_in_log
from tests.integration.services import Service
from tests.integration.test_alertmanager import free_port
from tests.integration.webhook import Receiver, running_receiver

pytestmark = pytest.mark.integration
HOOKS = f"http://127.0.0.1:{WEBHOOK_PORT}/hooks"


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver(WEBHOOK_PORT) as running:
        yield running


@pytest.fixture
def second_api(api_url: str) -> Iterator[str]:
    """A second command API on the same log and database: two watchers."""
    api = Service("command-api", free_port())
    api.start()
    try:
        yield api.url
    finally:
        assert api.stop() == 0


async def an_oncall(api: httpx.AsyncClient, tokens: dict[str, str]) -> tuple[str, str]:
    """One person always on call for a team owning one service, paged by webhook: (user, service)."""
    run = uuid.uuid4().hex[:8]
    who, team, service = f"hugo-{run}", f"backup-{run}", f"backups-{run}"
    user = {"id": who, "name": "Hugo", "email": f"{who}@example.com", "time_zone": "UTC", "role": "responder",
            "contact_methods": [{"kind": "webhook", "address": f"{HOOKS}/page-{who}"}]}  # fmt: skip
    layer = {"name": "always", "start": "2026-01-01T00:00:00", "turn": "P1D", "users": [who]}
    schedule = {"id": f"{team}-rota", "name": "Backups", "time_zone": "UTC", "layers": [layer]}
    bodies = [("/v1/users", user), ("/v1/schedules", schedule),
              ("/v1/teams", {"id": team, "name": "Backups", "members": [who], "schedule": schedule["id"]}),
              ("/v1/services", {"id": service, "name": "Backups", "owner_team": team})]  # fmt: skip
    for path, body in bodies:
        answer = await api.post(path, json=body, headers=auth(tokens, "admin"))
        assert answer.status_code == 201, answer.text
    return who, service


async def register(api: httpx.AsyncClient, tokens: dict[str, str], name: str, service: str) -> dict[str, Any]:
    body = {"interval": "10s", "grace": "5s", "service": service, "priority": "P2"}
    answer = await api.post(f"/v1/heartbeats/{name}", json=body, headers=auth(tokens, "manager"))
    assert answer.status_code == 201, answer.text
    registered: dict[str, Any] = answer.json()
    return registered


async def ping(api: httpx.AsyncClient, tokens: dict[str, str], name: str) -> dict[str, Any]:
    answer = await api.post(f"/v1/heartbeats/{name}/ping", headers=auth(tokens, "integration"))
    assert answer.status_code == 200, answer.text
    shown: dict[str, Any] = answer.json()
    return shown


async def shown(api: httpx.AsyncClient, tokens: dict[str, str], name: str) -> dict[str, Any]:
    answer = await api.get(f"/v1/heartbeats/{name}", headers=auth(tokens, "auditor"))
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    return document


async def openings(settings: CommonSettings, name: str) -> list[IncidentLogged]:
    """Every incident.logged of the heartbeat's alert key in the Kafka topic (accepted or not)."""
    key = f"heartbeat:{name}"
    found = []
    for record in await records_in_log(settings):
        if b"incident.logged" in record.value and key.encode() in record.value:
            event = decode(record.value)
            if isinstance(event, IncidentLogged) and event.data.dedup_key == key:
                found.append(event)
    return found


def pages(receiver: Receiver, who: str, incident_id: str) -> list[Any]:
    return [r for r in receiver.requests if r.path == f"/hooks/page-{who}" and r.body["incident_id"] == incident_id]


async def test_a_heartbeat_that_stops_pinging_opens_one_incident_within_20s_and_a_ping_resolves_it(
    api: httpx.AsyncClient, second_api: str, tokens: dict[str, str], receiver: Receiver, settings: CommonSettings
) -> None:
    who, service = await an_oncall(api, tokens)
    run = uuid.uuid4().hex[:8]
    pinged, silent = f"nightly-{run}", f"never-{run}"
    await register(api, tokens, pinged, service)
    registered_silent = datetime.fromisoformat((await register(api, tokens, silent, service))["registered_at"])
    async with httpx.AsyncClient(base_url=second_api, timeout=30) as other:
        for _ in range(3):
            last = await ping(other, tokens, pinged)  # either instance takes pings: they share the database
            await asyncio.sleep(1)
    stopped = datetime.fromisoformat(last["last_ping_at"])
    assert (last["state"], last["pings"], last["incident"]) == ("up", 3, None)

    await asyncio.sleep(max(0.0, (stopped + timedelta(seconds=12) - datetime.now(UTC)).total_seconds()))
    late = await shown(api, tokens, pinged)
    assert (late["state"], late["incident"]) == ("late", None), "past its interval, within its grace: no incident"

    async def down() -> dict[str, Any] | None:
        document = await shown(api, tokens, pinged)
        return document if document["incident"] is not None else None

    opened = await eventually(down, timeout_s=20)
    assert opened is not None and opened["state"] == "down"
    assert (datetime.now(UTC) - stopped).total_seconds() < 20, "within 20 s of the last ping"
    incident = opened["incident"]
    assert (incident["priority"], incident["status"]) == ("P2", "new")
    assert await eventually(lambda: _now(pages(receiver, who, incident["incident_id"])), 10), "its on-call is paged"

    never = await eventually(lambda: _incident_of(api, tokens, silent), timeout_s=20)
    assert never is not None, "a heartbeat never pinged is down after interval + grace from its registration"
    silent_opening = (await openings(settings, silent))[0]
    assert silent_opening.recorded_at >= registered_silent + timedelta(seconds=15)

    acked = await api.post(f"/v1/incidents/{incident['incident_id']}/acknowledge", json={},
                           headers=auth(tokens, "responder"))  # fmt: skip
    assert acked.status_code == 200, acked.text
    back = await ping(api, tokens, pinged)
    assert back["state"] == "up"

    async def resolved() -> dict[str, Any] | None:
        got = await api.get(f"/v1/incidents/{incident['incident_id']}", headers=auth(tokens, "auditor"))
        body: dict[str, Any] = got.json()
        return body if body["status"] == "resolved" else None

    done = await eventually(resolved, timeout_s=10)
    assert done is not None and done["resolution_code"] == "auto_resolved", "resolved although acknowledged"
    assert (await shown(api, tokens, pinged))["incident"] is None
    timeline = await api.get(f"/v1/incidents/{incident['incident_id']}/timeline", headers=auth(tokens, "auditor"))
    [resolution] = [ev for ev in timeline.json()["events"] if ev["type"] == "incident.resolved"]
    assert resolution["actor"] == {"id": f"heartbeat:{pinged}", "kind": "system", "role": "system"}
    assert f"Heartbeat {pinged} pinged again" in resolution["data"]["summary"]
    await asyncio.sleep(2)  # two watchers, each ticking every second: time for a second opening, if there were one
    assert len(await openings(settings, pinged)) == 1, "one incident for the outage, on the log"
    assert len(await openings(settings, silent)) == 1
    assert len(pages(receiver, who, incident["incident_id"])) == 1

    removed = await api.delete(f"/v1/heartbeats/{silent}", headers=auth(tokens, "manager"))
    assert removed.status_code == 204, removed.text

    async def silent_resolved() -> bool:
        got = await api.get(f"/v1/incidents/{never['incident_id']}", headers=auth(tokens, "auditor"))
        return bool(got.json()["status"] == "resolved")

    assert await eventually(silent_resolved, timeout_s=10), "removing a heartbeat ends its outage"


async def test_an_outage_while_no_api_runs_opens_its_incident_once_one_is_back(
    api: httpx.AsyncClient, tokens: dict[str, str], services: dict[str, Service], settings: CommonSettings
) -> None:
    _, service = await an_oncall(api, tokens)
    name = f"hourly-{uuid.uuid4().hex[:8]}"
    await register(api, tokens, name, service)
    stopped = datetime.fromisoformat((await ping(api, tokens, name))["last_ping_at"])
    main = services["command-api"]
    main.kill()  # like kill -9: no watcher runs anywhere now
    try:
        await asyncio.sleep(max(0.0, (stopped + timedelta(seconds=16) - datetime.now(UTC)).total_seconds()))
        assert await openings(settings, name) == [], "nobody watched"
    finally:
        await asyncio.to_thread(main.start)
    back = datetime.now(UTC)
    incident = await eventually(lambda: _incident_of(api, tokens, name), timeout_s=10)
    assert incident is not None, "the outage is in PostgreSQL, not in a process's memory"
    [opening] = await openings(settings, name)
    assert opening.recorded_at - back < timedelta(seconds=5)
    assert opening.data.detected_at == stopped + timedelta(seconds=15), "down since interval + grace after the ping"
    await ping(api, tokens, name)


async def test_pings_need_an_integration_token_and_a_registered_name(
    api: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    unknown = await api.post("/v1/heartbeats/nobody-registered-this/ping", headers=auth(tokens, "integration"))
    assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/problem+json"
    assert (await api.post("/v1/heartbeats/x/ping", headers=auth(tokens, "responder"))).status_code == 403
    bad = await api.post("/v1/heartbeats/x", json={"interval": "1s", "grace": "0s", "service": "s"},
                         headers=auth(tokens, "manager"))  # fmt: skip
    assert bad.status_code == 422 and "interval" in bad.text
    name = f"weekly-{uuid.uuid4().hex[:8]}"
    await register(api, tokens, name, "reports")
    replaced = await api.post(f"/v1/heartbeats/{name}", json={"interval": "7d", "grace": "1h", "service": "reports"},
                              headers=auth(tokens, "manager"))  # fmt: skip
    assert replaced.status_code == 200 and replaced.json()["interval"] == "P7D"
    listed = await api.get("/v1/heartbeats", headers=auth(tokens, "reporter"))
    assert name in [h["name"] for h in listed.json()["heartbeats"]]
    assert (await api.delete(f"/v1/heartbeats/{name}", headers=auth(tokens, "manager"))).status_code == 204
    assert (await api.get(f"/v1/heartbeats/{name}", headers=auth(tokens, "auditor"))).status_code == 404


async def _incident_of(api: httpx.AsyncClient, tokens: dict[str, str], name: str) -> Any:
    return (await shown(api, tokens, name))["incident"]


async def _now(value: Any) -> Any:
    return value
