"""Maintenance windows on the real stack, counted on the log and at a real webhook receiver: alerts of a service
in a window open no incident and page no one; what still fires at the window's end opens its incident within
seconds of the end, once, with two API instances releasing; what resolved meanwhile opens nothing. An alert for
an incident already open joins it, people still log incidents, cancelling releases at once, and an Alertmanager
group the window matches is held whole."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from incidents_shared.domain.alert_groups import group_dedup_key
from incidents_shared.domain.codec import decode
from incidents_shared.domain.events import IncidentLogged
from incidents_shared.settings import CommonSettings
from tests.integration.conftest import ALERT_MAPPING, WEBHOOK_PORT
from tests.integration.helpers import auth, eventually, records_in_log
from tests.integration.services import Service
from tests.integration.test_alertmanager import free_port
from tests.integration.webhook import Receiver, running_receiver

pytestmark = pytest.mark.integration
HOOKS = f"http://127.0.0.1:{WEBHOOK_PORT}/hooks"
# Severity `page` is a P2, which pages the owning team's on-call at once (fast-demo policy).
MAPPING = ALERT_MAPPING  # the session API's: either instance may release what a window held


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver(WEBHOOK_PORT) as running:
        yield running


@pytest.fixture(scope="module")
def second_api(tmp_path_factory: pytest.TempPathFactory, api_url: str) -> Iterator[str]:
    """A second command API on the same log and database (both release what windows held), with the mapping."""
    mapping = tmp_path_factory.mktemp("mapping") / "alert-mapping.json"
    mapping.write_text(json.dumps(MAPPING))
    api = Service("command-api", free_port(), env={"INCIDENTS_ALERT_MAPPING_FILE": str(mapping)})
    api.start()
    try:
        yield api.url
    finally:
        assert api.stop() == 0


@pytest.fixture
async def alerts_api(second_api: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=second_api, timeout=30) as client:
        yield client


async def an_oncall(api: httpx.AsyncClient, tokens: dict[str, str], services: int = 2) -> tuple[str, list[str]]:
    """One person always on call for a team owning `services` services, paged by webhook: (user, services)."""
    run = uuid.uuid4().hex[:8]
    who, team = f"mona-{run}", f"shop-{run}"
    owned = [f"checkout-{run}-{n}" for n in range(services)]
    user = {"id": who, "name": "Mona", "email": f"{who}@example.com", "time_zone": "UTC", "role": "responder",
            "contact_methods": [{"kind": "webhook", "address": f"{HOOKS}/page-{who}"}]}  # fmt: skip
    layer = {"name": "always", "start": "2026-01-01T00:00:00", "turn": "P1D", "users": [who]}
    schedule = {"id": f"{team}-rota", "name": "Shop", "time_zone": "UTC", "layers": [layer]}
    bodies = [("/v1/users", user), ("/v1/schedules", schedule),
              ("/v1/teams", {"id": team, "name": "Shop", "members": [who], "schedule": schedule["id"]}),
              *(("/v1/services", {"id": s, "name": s, "owner_team": team}) for s in owned)]  # fmt: skip
    for path, body in bodies:
        answer = await api.post(path, json=body, headers=auth(tokens, "admin"))
        assert answer.status_code == 201, answer.text
    return who, owned


async def a_window(api: httpx.AsyncClient, tokens: dict[str, str], seconds: float, **fields: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    body = {"start": (now - timedelta(seconds=1)).isoformat(), "end": (now + timedelta(seconds=seconds)).isoformat(),
            "reason": "database upgrade", **fields}  # fmt: skip
    answer = await api.post("/v1/maintenance-windows", json=body, headers=auth(tokens, "manager"))
    assert answer.status_code == 201, answer.text
    window: dict[str, Any] = answer.json()
    assert window["status"] == "active" and answer.headers["location"] == f"/v1/maintenance-windows/{window['id']}"
    return window


async def alert(api: httpx.AsyncClient, tokens: dict[str, str], key: str, service: str, **fields: Any) -> Any:
    body = {"dedup_key": key, "severity": "page", "summary": f"Checkout 5xx {key}", "service": service, **fields}
    answer = await api.post("/v1/alerts", json=body, headers=auth(tokens, "integration"))
    assert answer.status_code == 200, answer.text
    [result] = answer.json()["results"]
    return result


async def incidents_of(db: asyncpg.Connection, key: str) -> list[str]:
    return [
        str(r["incident_id"]) for r in await db.fetch("SELECT incident_id FROM incidents WHERE dedup_key = $1", key)
    ]


async def logged_on_the_log(settings: CommonSettings, *keys: str) -> dict[str, list[IncidentLogged]]:
    """Every incident.logged record of these alert keys in the Kafka topic (accepted or not: each is an opening)."""
    found: dict[str, list[IncidentLogged]] = {key: [] for key in keys}
    for record in await records_in_log(settings):
        if b"incident.logged" in record.value and any(key.encode() in record.value for key in keys):
            event = decode(record.value)
            if isinstance(event, IncidentLogged) and event.data.dedup_key in found:
                found[event.data.dedup_key].append(event)
    return found


def pages(receiver: Receiver, who: str) -> list[Any]:
    return [r for r in receiver.requests if r.path == f"/hooks/page-{who}"]


async def test_a_window_opens_nothing_pages_no_one_and_its_end_opens_what_still_fires_once(
    api: httpx.AsyncClient,
    alerts_api: httpx.AsyncClient,
    tokens: dict[str, str],
    receiver: Receiver,
    db: asyncpg.Connection,
    settings: CommonSettings,
) -> None:
    who, (maintained, other) = await an_oncall(api, tokens)
    run = uuid.uuid4().hex[:8]
    firing, flapped, control = f"db-{run}-firing", f"db-{run}-flapped", f"web-{run}-control"
    window = await a_window(api, tokens, 8, services=[maintained])

    for key in (firing, flapped):
        held = await alert(alerts_api, tokens, key, maintained)
        assert (held["outcome"], held["incident_id"]) == ("suppressed", None), held
        assert window["id"] in held["detail"]
    assert (await alert(alerts_api, tokens, firing, maintained))["outcome"] == "suppressed", "a repeat: still held"
    resolved = await alert(alerts_api, tokens, flapped, maintained, status="resolved")
    assert resolved["outcome"] == "suppressed" and "resolved" in resolved["detail"]
    opened = await alert(alerts_api, tokens, control, other)
    assert opened["outcome"] == "opened", "a service the window does not name opens its incident"
    [control_page] = await eventually(lambda: _now(pages(receiver, who)), 10)
    assert control_page.body["incident_id"] == opened["incident_id"], "the receiver and the rota work"

    shown = await api.get(f"/v1/maintenance-windows/{window['id']}", headers=auth(tokens, "auditor"))
    assert shown.status_code == 200, shown.text
    held_rows = {row["dedup_key"]: row for row in shown.json()["suppressed"]}
    assert {k: (r["status"], r["received"], r["released_at"]) for k, r in held_rows.items()} == {
        firing: ("firing", 2, None), flapped: ("resolved", 2, None),
    }  # fmt: skip
    assert (await incidents_of(db, firing), await incidents_of(db, flapped)) == ([], [])

    end = datetime.fromisoformat(window["end"])
    [incident_id] = await eventually(lambda: incidents_of(db, firing), timeout_s=20)
    await asyncio.sleep(3)  # time for a second instance (or a second tick) to open it again, if it would
    logged = await logged_on_the_log(settings, firing, flapped)
    assert len(logged[firing]) == 1 and logged[flapped] == [], "exactly one opening, none for what resolved"
    opening = logged[firing][0]
    assert end <= opening.recorded_at < end + timedelta(seconds=5), "within seconds of the window's end"
    assert (opening.data.service, opening.data.priority, opening.actor.id) == (maintained, "P2", "dev-integration")

    [page] = [r for r in pages(receiver, who) if r.body["incident_id"] == incident_id]
    assert page.at >= end, "the on-call heard of it only after the window"
    assert len(pages(receiver, who)) == 2, "the control's page and this one: nothing during the window"
    timeline = (await api.get(f"/v1/incidents/{incident_id}/timeline", headers=auth(tokens, "auditor"))).json()
    [held_note] = [ev for ev in timeline["events"] if ev["type"] == "incident.note_added"]
    assert f"Held by maintenance window {window['id']} since" in held_note["data"]["text"]
    assert held_note["actor"] == {"id": "maintenance-windows", "kind": "system", "role": "system"}
    after = (await api.get(f"/v1/maintenance-windows/{window['id']}", headers=auth(tokens, "auditor"))).json()
    released = {row["dedup_key"]: (row["outcome"], row["incident_id"]) for row in after["suppressed"]}
    assert released == {firing: ("opened", incident_id), flapped: ("resolved", None)}
    assert after["status"] == "ended"


async def test_an_open_incident_joins_people_still_log_and_labels_select(
    api: httpx.AsyncClient, alerts_api: httpx.AsyncClient, tokens: dict[str, str], db: asyncpg.Connection
) -> None:
    _, (maintained, _other) = await an_oncall(api, tokens)
    run = uuid.uuid4().hex[:8]
    before = await alert(alerts_api, tokens, f"open-{run}", maintained)
    assert before["outcome"] == "opened"
    window = await a_window(api, tokens, 600, services=[], matchers=[f"run={run}", "env=staging"])
    try:
        joined = await alert(alerts_api, tokens, f"open-{run}", maintained, labels={"run": run, "env": "staging"})
        assert (joined["outcome"], joined["incident_id"]) == ("correlated", before["incident_id"])
        staging = await alert(alerts_api, tokens, f"stg-{run}", maintained, labels={"run": run, "env": "staging"})
        assert staging["outcome"] == "suppressed"
        prod = await alert(alerts_api, tokens, f"prod-{run}", maintained, labels={"run": run, "env": "prod"})
        assert prod["outcome"] == "opened", "a label the matchers do not hold"
        body = {"title": "Checkout slow", "service": maintained, "impact": "high", "urgency": "medium"}
        logged = await api.post("/v1/incidents", json=body, headers=auth(tokens, "reporter"))
        assert logged.status_code == 201, "what people log is never held"
        assert await incidents_of(db, f"stg-{run}") == []
    finally:
        gone = await api.delete(f"/v1/maintenance-windows/{window['id']}", headers=auth(tokens, "manager"))
        assert gone.status_code == 200, gone.text
    assert await eventually(lambda: incidents_of(db, f"stg-{run}"), timeout_s=10), "cancelling releases it"


async def test_cancelling_releases_at_once_and_an_alertmanager_group_is_held_whole(
    api: httpx.AsyncClient,
    alerts_api: httpx.AsyncClient,
    tokens: dict[str, str],
    receiver: Receiver,
    db: asyncpg.Connection,
) -> None:
    who, (maintained, _other) = await an_oncall(api, tokens)
    run = uuid.uuid4().hex[:8]
    window = await a_window(api, tokens, 3600, services=[maintained], id=f"upgrade-{run}")
    assert window["id"] == f"upgrade-{run}"
    starts = datetime.now(UTC).isoformat()
    group_key = f'{{}}:{{alertname="Disk{run}"}}'
    webhook: dict[str, Any] = {
        "version": "4", "groupKey": group_key, "status": "firing", "receiver": "team",
        "groupLabels": {"alertname": f"Disk{run}"}, "commonLabels": {"alertname": f"Disk{run}", "service": maintained},
        "alerts": [{"status": "firing", "labels": {"alertname": f"Disk{run}", "service": maintained,
                    "severity": "page", "instance": f"host{n}"}, "startsAt": starts, "fingerprint": f"{run}{n}"}
                   for n in range(3)],
    }  # fmt: skip
    answer = await alerts_api.post("/v1/alerts/alertmanager", json=webhook, headers=auth(tokens, "integration"))
    assert answer.status_code == 200, answer.text
    assert [r["outcome"] for r in answer.json()["results"]] == ["suppressed"] * 3
    assert (await alert(alerts_api, tokens, f"single-{run}", maintained))["outcome"] == "suppressed"
    rule = {"alertname": f"Queue{run}", "grouped": "yes"}
    for host, status in (("a", "firing"), ("b", "firing"), ("b", "resolved")):
        labels = {**rule, "instance": host}
        grouped = await alert(alerts_api, tokens, f"q-{run}-{host}", maintained, labels=labels, status=status)
        assert grouped["outcome"] == "suppressed", grouped
    await asyncio.sleep(2)
    assert pages(receiver, who) == [], "nobody paged while held"

    cancelled = await api.delete(f"/v1/maintenance-windows/{window['id']}", headers=auth(tokens, "manager"))
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["cancelled_at"] is not None) == ("cancelled", True)
    at = datetime.now(UTC)
    [group_incident] = await eventually(lambda: incidents_of(db, group_dedup_key("team", group_key)), timeout_s=10)
    assert await eventually(lambda: incidents_of(db, f"single-{run}"), timeout_s=10)
    assert (datetime.now(UTC) - at).total_seconds() < 10

    async def recorded() -> dict[str, Any] | None:
        """The opening and the record of the group's alerts (which raises the priority) are two appends."""
        shown = (await api.get(f"/v1/incidents/{group_incident}", headers=auth(tokens, "auditor"))).json()
        return shown if (shown["alerts_firing"], shown["priority"]) == (3, "P2") else None

    assert await eventually(recorded, timeout_s=10), "one incident for the group, its 3 alerts, P2"
    [queue] = await eventually(lambda: incidents_of(db, f"grouped/{maintained} alertname=Queue{run}"), timeout_s=10)

    async def queue_recorded() -> dict[str, Any] | None:
        """The same two appends for the grouping rule's group: wait for its record before reading its alerts."""
        shown = (await api.get(f"/v1/incidents/{queue}", headers=auth(tokens, "auditor"))).json()
        return shown if shown["alerts_firing"] or shown["firing_instances"] else None

    queued = await eventually(queue_recorded, timeout_s=10)
    assert (queued["alerts_firing"], queued["firing_instances"]) == (1, ["a"]), "the grouping rule's group, merged"
    assert len(await eventually(lambda: _now(pages(receiver, who)), 10)) >= 1

    again = await api.put(f"/v1/maintenance-windows/{window['id']}", headers=auth(tokens, "manager"),
                          json={**{k: window[k] for k in ("services", "start", "end")}, "reason": "later"})  # fmt: skip
    assert again.status_code == 422 and "cancelled" in again.json()["detail"], "a cancelled window is history"
    listed = await api.get("/v1/maintenance-windows", params={"status": "cancelled"}, headers=auth(tokens, "reporter"))
    assert window["id"] in [w["id"] for w in listed.json()["windows"]]


async def test_bad_windows_are_refused_naming_the_field(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    now = datetime.now(UTC)
    body = {"services": ["x"], "start": now.isoformat(), "end": (now - timedelta(hours=1)).isoformat(), "reason": "r"}
    inverted = await api.post("/v1/maintenance-windows", json=body, headers=auth(tokens, "manager"))
    assert inverted.status_code == 422 and "end: must be after start" in inverted.text
    over = {**body, "start": (now - timedelta(hours=2)).isoformat()}
    past = await api.post("/v1/maintenance-windows", json=over, headers=auth(tokens, "manager"))
    assert past.status_code == 422 and past.json()["field"] == "end", past.text
    nothing = {**body, "services": [], "end": (now + timedelta(hours=1)).isoformat()}
    assert (await api.post("/v1/maintenance-windows", json=nothing, headers=auth(tokens, "manager"))).status_code == 422
    forbidden = await api.post("/v1/maintenance-windows", json=over, headers=auth(tokens, "responder"))
    assert forbidden.status_code == 403
    missing = await api.get("/v1/maintenance-windows/nope", headers=auth(tokens, "auditor"))
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"


async def _now(value: Any) -> Any:
    return value
