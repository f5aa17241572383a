"""The on-call path on the real stack, counted at a real webhook receiver: a new P2 reaches the person on call
for the service's owning team within seconds, by their first contact method; acknowledging through the page's
link stops every later contact method and step; a kill -9 between a page's delivery and its record sends at most
one extra attempt, with the same Idempotency-Key."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from incidents_shared.domain.events import EventBase, IncidentAcknowledged, IncidentPaged
from incidents_shared.domain.oncall import Schedule, oncall_at
from incidents_shared.domain.record import Record
from incidents_shared.domain.walk import decode_records
from incidents_shared.settings import CommonSettings
from tests.integration.conftest import WEBHOOK_PORT
from tests.integration.helpers import auth, eventually, records_in_log
from tests.integration.services import Service
from tests.integration.test_escalator import _crashing_escalator
from tests.integration.webhook import Received, Receiver, running_receiver

pytestmark = pytest.mark.integration
HOOKS = f"http://127.0.0.1:{WEBHOOK_PORT}/hooks"
LATER_S = 4  # the second contact method's delay


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver(WEBHOOK_PORT) as running:
        yield running


async def _created(api: httpx.AsyncClient, tokens: dict[str, str], path: str, body: dict[str, Any]) -> None:
    answer = await api.post(path, json=body, headers=auth(tokens, "admin"))
    assert answer.status_code == 201, answer.text


async def a_rota(api: httpx.AsyncClient, tokens: dict[str, str]) -> dict[str, Any]:
    """Two people on an hourly rotation for a team that owns a service; ann's turn started half an hour ago."""
    run = uuid.uuid4().hex[:8]
    ann, bob, team, service = f"ann-{run}", f"bob-{run}", f"payments-{run}", f"checkout-{run}"
    for who in (ann, bob):
        contacts = [
            {"kind": "webhook", "address": f"{HOOKS}/page-{who}"},
            {"kind": "webhook", "address": f"{HOOKS}/page-{who}-later", "delay": f"{LATER_S}s"},
        ]
        user = {"id": who, "name": who.title(), "email": f"{who}@example.com", "time_zone": "Europe/Amsterdam",
                "role": "responder", "contact_methods": contacts}  # fmt: skip
        await _created(api, tokens, "/v1/users", user)
    start = (datetime.now(UTC) - timedelta(minutes=30)).replace(microsecond=0)
    layer = {"name": "hourly", "start": start.isoformat(), "turn": "PT1H", "users": [ann, bob]}
    schedule = {"id": f"{team}-primary", "name": "Payments primary", "time_zone": "UTC", "layers": [layer]}
    await _created(api, tokens, "/v1/schedules", schedule)
    await _created(api, tokens, "/v1/teams", {"id": team, "name": "Payments", "members": [ann, bob],
                                              "schedule": schedule["id"]})  # fmt: skip
    await _created(api, tokens, "/v1/services", {"id": service, "name": "Checkout", "owner_team": team})
    return {"ann": ann, "bob": bob, "team": team, "service": service, "schedule": Schedule.model_validate(schedule)}


async def a_p2(api: httpx.AsyncClient, tokens: dict[str, str], service: str) -> tuple[str, datetime]:
    body = {"title": f"Card payments fail {uuid.uuid4()}", "service": service, "impact": "high", "urgency": "medium"}
    answer = await api.post("/v1/incidents", json=body, headers=auth(tokens, "reporter"))
    assert answer.status_code == 201, answer.text
    return answer.json()["incident_id"], datetime.now(UTC)


def paged_at(receiver: Receiver, path: str) -> list[Received]:
    return [r for r in receiver.requests if r.path == path]


async def test_a_new_p2_pages_the_owning_teams_oncall_within_seconds_and_the_link_stops_the_rest(
    api: httpx.AsyncClient, tokens: dict[str, str], receiver: Receiver, settings: CommonSettings
) -> None:
    rota = await a_rota(api, tokens)
    incident_id, answered = await a_p2(api, tokens, rota["service"])
    expected = oncall_at(rota["schedule"], answered).user
    assert expected == rota["ann"]

    first = await eventually(lambda: _async(paged_at(receiver, f"/hooks/page-{expected}")), timeout_s=5)
    assert first, "the on-call's first contact method, within 5 s of the 201"
    [page] = first
    assert (page.at - answered).total_seconds() < 5
    body = page.body
    assert (body["incident_id"], body["user"], body["reason"], body["team"]) == (
        incident_id, expected, "step", rota["team"],
    )  # fmt: skip
    assert (body["schedule"], body["source"], body["level"]) == (rota["schedule"].id, "hourly", 1)

    acked = await api.post(body["links"]["acknowledge"], json={})
    assert acked.status_code == 200, acked.text
    await asyncio.sleep(LATER_S + 3)  # the second contact method was due LATER_S after the page

    assert paged_at(receiver, f"/hooks/page-{expected}-later") == [], "no later contact method"
    assert paged_at(receiver, f"/hooks/page-{rota['bob']}") == [], "nobody else"
    records = [r for r in await records_in_log(settings) if r.incident_key == incident_id]
    offsets = {str(ev.event_id): r.offset for r, ev in _decoded(records)}
    [ack] = [ev for _, ev in _decoded(records) if isinstance(ev, IncidentAcknowledged)]
    assert (ack.actor.id, str(ack.data.page_link)) == (expected, body["page_id"]), "as the paged user, by the link"
    delivered = [r for r in receiver.requests if r.body.get("incident_id") == incident_id]
    assert delivered and all(offsets[r.body["event_id"]] < offsets[str(ack.event_id)] for r in delivered), (
        "0 deliveries about anything after the acknowledgement's offset"
    )
    pages = [ev for _, ev in _decoded(records) if isinstance(ev, IncidentPaged)]
    assert all(p.data.contact.index == 0 for p in pages if offsets[str(p.event_id)] < offsets[str(ack.event_id)])


async def test_a_gap_is_listed_and_falls_through_to_the_next_level_at_once(
    api: httpx.AsyncClient, tokens: dict[str, str], receiver: Receiver
) -> None:
    run = uuid.uuid4().hex[:8]
    who, team, service = f"nina-{run}", f"nights-{run}", f"batch-{run}"
    contacts = [{"kind": "webhook", "address": f"{HOOKS}/page-{who}"}]
    user = {"id": who, "name": "Nina", "email": f"{who}@example.com", "time_zone": "UTC", "role": "responder",
            "contact_methods": contacts}  # fmt: skip
    await _created(api, tokens, "/v1/users", user)
    now = datetime.now(UTC)
    window = {
        "kind": "daily",
        "start": f"{(now + timedelta(hours=2)):%H:00}",
        "end": f"{(now + timedelta(hours=3)):%H:00}",
    }
    layer = {"name": "late", "start": "2026-01-01T00:00:00", "turn": "P1D", "users": [who], "restrictions": [window]}
    schedule = {"id": f"{team}-rota", "name": "Nights", "time_zone": "UTC", "layers": [layer]}
    await _created(api, tokens, "/v1/schedules", schedule)
    await _created(
        api, tokens, "/v1/teams", {"id": team, "name": "Nights", "members": [who], "schedule": schedule["id"]}
    )
    await _created(api, tokens, "/v1/services", {"id": service, "name": "Batch", "owner_team": team})

    period = {"from": now.isoformat(), "until": (now + timedelta(hours=1)).isoformat()}
    shifts = await api.get(f"/v1/schedules/{schedule['id']}/shifts", headers=auth(tokens, "responder"), params=period)
    assert shifts.status_code == 200, shifts.text
    assert [(g["user"], g["source"]) for g in shifts.json()["gaps"]] == [(None, "gap")], "the gap is listed"

    incident_id, answered = await a_p2(api, tokens, service)

    async def leads() -> list[Received]:
        return [r for r in receiver.about(incident_id) if r.path == "/hooks/leads"]

    [fell_through] = await eventually(leads, timeout_s=10)
    assert (fell_through.at - answered).total_seconds() < 10, "level 2 at once, not after 30 minutes"
    assert paged_at(receiver, f"/hooks/page-{who}") == [], "nobody was on call to page"
    timeline = (await api.get(f"/v1/incidents/{incident_id}/timeline", headers=auth(tokens, "auditor"))).json()
    failed = [e for e in timeline["events"] if e["type"] == "incident.notification_failed"]
    assert any("nobody on call" in e["data"]["error"] and schedule["id"] in e["data"]["error"] for e in failed)
    levels = [e["data"]["level"] for e in timeline["events"] if e["type"] == "incident.escalated"]
    assert levels == [1, 2]
    await api.post(f"/v1/incidents/{incident_id}/acknowledge", json={}, headers=auth(tokens, "responder"))


async def test_kill_9_between_a_page_and_its_record_sends_once_more_with_the_same_key(
    api: httpx.AsyncClient, tokens: dict[str, str], receiver: Receiver, services: dict[str, Service]
) -> None:
    rota = await a_rota(api, tokens)
    path = f"/hooks/page-{rota['ann']}"
    async with _crashing_escalator(services, INCIDENTS_ESCALATOR_CRASH_AFTER_DELIVERY="1") as crashing:
        incident_id, _ = await a_p2(api, tokens, rota["service"])
        assert await asyncio.to_thread(crashing.wait, 30) == 137, "died after the receiver said 200"

    async def sent() -> list[Received]:
        return paged_at(receiver, path) if len(paged_at(receiver, path)) >= 2 else []

    attempts = await eventually(sent, timeout_s=30)
    await asyncio.sleep(1.5)
    attempts = paged_at(receiver, path)
    assert len(attempts) == 2, "the page once more after the crash, not more"
    assert len({r.idempotency_key for r in attempts}) == 1, (
        "with the same Idempotency-Key: a deduplicating receiver counts one"
    )
    assert attempts[0].body == attempts[1].body, "the same page, the same signed links"
    await api.post(f"/v1/incidents/{incident_id}/acknowledge", json={}, headers=auth(tokens, "responder"))


def _decoded(records: list[Record]) -> list[tuple[Record, EventBase]]:
    return [(d.record, d.event) for d in decode_records(records) if d.event is not None]


async def _async(value: Any) -> Any:
    return value
