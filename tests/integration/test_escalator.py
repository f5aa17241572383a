"""The escalator against the real services, with the fast policy: P1 steps are seconds apart."""

import asyncio
import contextlib
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from incidents_shared.domain.events import IncidentEscalated
from incidents_shared.settings import CommonSettings
from tests.integration.conftest import ESCALATOR_ENV, WEBHOOK_PORT
from tests.integration.helpers import auth, events_in_log, eventually, log_incident
from tests.integration.services import LOGS, Service
from tests.integration.webhook import Receiver, running_receiver

# fast-demo.yaml, P1: acknowledge 5s; level 2 (team-leads, Slack) at 4s, level 3 (head-of-operations) at 8s,
# repeated once 4s later as level 4.
STEPS = {2: ("team-leads", "/hooks/leads", 4.0), 3: ("head-of-operations", "/hooks/heads", 8.0)}
REPEAT = {4: ("head-of-operations", "/hooks/heads", 12.0)}
ON_TIME_S = 1.0


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver(WEBHOOK_PORT) as running:
        yield running


async def _p1(api: httpx.AsyncClient, tokens: dict[str, str]) -> dict[str, Any]:
    title = f"Checkout down {uuid.uuid4()}"
    return await log_incident(api, tokens, title=title, service="checkout", impact="high", urgency="high")


async def _timeline(api: httpx.AsyncClient, tokens: dict[str, str], incident_id: str) -> list[dict[str, Any]]:
    answer = await api.get(f"/v1/incidents/{incident_id}/timeline", headers=auth(tokens, "auditor"))
    events: list[dict[str, Any]] = answer.json()["events"]
    return events


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def _escalations(api: httpx.AsyncClient, tokens: dict[str, str], incident_id: str) -> list[dict[str, Any]]:
    return [e for e in await _timeline(api, tokens, incident_id) if e["type"] == "incident.escalated"]


async def test_unacknowledged_p1_escalates_level_by_level_on_time_paging_once_per_step(
    api: httpx.AsyncClient, tokens: dict[str, str], receiver: Receiver
) -> None:
    created = await _p1(api, tokens)
    incident_id, logged_at = created["incident_id"], _at(created["logged_at"])
    expected = {**STEPS, **REPEAT}

    async def all_paged() -> bool:
        levels = {r.body.get("level") for r in receiver.about(incident_id)} | {
            level for level in expected if any(f"level {level}," in str(r.body) for r in receiver.about(incident_id))
        }
        return set(expected) <= levels

    assert await eventually(all_paged, timeout_s=25), receiver.about(incident_id)
    await asyncio.sleep(1.5)  # anything extra would arrive now

    escalations = await _escalations(api, tokens, incident_id)
    assert [e["data"]["level"] for e in escalations] == [2, 3, 4]
    for event in escalations:
        team, _, after_s = expected[event["data"]["level"]]
        due = _at(event["occurred_at"])
        assert (due - logged_at).total_seconds() == pytest.approx(after_s, abs=0.01)
        assert (_at(event["recorded_at"]) - due).total_seconds() < ON_TIME_S, "fired within a second of due"
        assert event["data"]["target_team"] == team and event["data"]["reason"] == "ack_sla"
        assert event["actor"] == {"id": "escalator", "kind": "system", "role": "system"}
        assert event["data"]["policy_id"] == "fast-demo" and event["data"]["policy_version"] == 3

    paged = receiver.about(incident_id)
    assert sorted(r.path for r in paged) == sorted(expected[level][1] for level in expected), "one page per step"
    assert len({r.idempotency_key for r in paged}) == len(paged)
    slack = [r for r in paged if r.path == "/hooks/leads"]
    assert "escalated to level 2, team-leads" in slack[0].body["text"]


async def test_a_missed_acknowledge_target_is_a_visible_breach(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    created = await _p1(api, tokens)
    incident_id = created["incident_id"]

    async def breached() -> bool:
        answer = await api.get(f"/v1/incidents/{incident_id}", headers=auth(tokens, "auditor"))
        return bool(answer.json()["breached"])

    assert await eventually(breached, timeout_s=15)
    timeline = await _timeline(api, tokens, incident_id)
    [targets] = [e for e in timeline if e["type"] == "incident.sla_targets_set"]
    assert targets["data"]["policy_id"] == "fast-demo" and targets["data"]["policy_version"] == 3
    assert (_at(targets["data"]["ack_due_at"]) - _at(created["logged_at"])).total_seconds() == pytest.approx(5.0)
    [breach] = [e for e in timeline if e["type"] == "incident.sla_breached"]
    assert breach["data"]["target"] == "acknowledge" and breach["data"]["due_at"] == targets["data"]["ack_due_at"]

    # The breach shows up in the reports: a window holding only this incident.
    logged = _at(created["logged_at"])
    window = {
        "from": logged.isoformat(),
        "to": (logged + timedelta(milliseconds=1)).isoformat(),
        "group_by": "priority",
    }
    report = await api.get("/v1/reports/summary", params=window, headers=auth(tokens, "manager"))
    [p1] = [g for g in report.json()["groups"] if g["group"] == "P1"]
    assert (p1["total"], p1["breaches"], p1["sla_compliance_pct"]) == (1, 1, 0.0)
    await api.post(f"/v1/incidents/{incident_id}/acknowledge", json={}, headers=auth(tokens, "responder"))


async def test_an_acknowledgement_stops_the_chain(
    api: httpx.AsyncClient, tokens: dict[str, str], receiver: Receiver
) -> None:
    created = await _p1(api, tokens)
    incident_id = created["incident_id"]
    assert await eventually(lambda: _async(any(r.path == "/hooks/leads" for r in receiver.about(incident_id))), 15)
    acked = await api.post(f"/v1/incidents/{incident_id}/acknowledge", json={}, headers=auth(tokens, "responder"))
    assert acked.status_code == 200, acked.text

    await asyncio.sleep(STEPS[3][2] + 2.0 - 4.0)  # past level 3's due time (8 s after logging) with margin
    assert [e["data"]["level"] for e in await _escalations(api, tokens, incident_id)] == [2]
    assert [r.path for r in receiver.about(incident_id)] == ["/hooks/leads"], "nobody paged after the ack"


async def _async(value: bool) -> bool:
    return value


async def test_stakeholder_updates_reach_the_stakeholder_channel(
    api: httpx.AsyncClient, tokens: dict[str, str], receiver: Receiver
) -> None:
    created = await log_incident(api, tokens)
    incident_id = created["incident_id"]
    posted = await api.post(
        f"/v1/incidents/{incident_id}/updates",
        json={"audience": "customers", "message": "Checkout is slow; we are on it."},
        headers=auth(tokens, "manager"),  # only a manager speaks to customers (0090)
    )
    assert posted.status_code == 200, posted.text

    async def delivered() -> list[Any]:
        return [r for r in receiver.about(incident_id) if r.path == "/hooks/stakeholders"]

    [update] = await eventually(delivered, timeout_s=10)
    assert update.body["message"] == "Checkout is slow; we are on it." and update.body["audience"] == "customers"

    async def recorded() -> list[dict[str, Any]]:
        return [e for e in await _timeline(api, tokens, incident_id) if e["type"] == "incident.notification_sent"]

    [sent] = await eventually(recorded, timeout_s=10)
    assert sent["data"]["channel"] == "stakeholders" and sent["data"]["target"] == "customers"


async def test_a_dead_receiver_never_delays_other_incidents(
    api: httpx.AsyncClient, tokens: dict[str, str], receiver: Receiver
) -> None:
    receiver.hang.add("/hooks/stakeholders")
    try:
        slow = await log_incident(api, tokens)
        for n in range(5):
            update = {"audience": "customers", "message": f"update {n}"}
            posted = await api.post(
                f"/v1/incidents/{slow['incident_id']}/updates", json=update, headers=auth(tokens, "manager")
            )
            assert posted.status_code == 200

        def hanging() -> list[Any]:
            return [r for r in receiver.about(slow["incident_id"]) if r.path == "/hooks/stakeholders"]

        assert await eventually(lambda: _async(len(hanging()) == 5), 10), "all hanging"

        created = await _p1(api, tokens)
        incident_id = created["incident_id"]
        assert await eventually(lambda: _async(any(r.path == "/hooks/leads" for r in receiver.about(incident_id))), 15)
        [page] = [r for r in receiver.about(incident_id) if r.path == "/hooks/leads"]
        assert (page.at - _at(created["logged_at"])).total_seconds() < STEPS[2][2] + 1.5, "paged on time regardless"
        await api.post(f"/v1/incidents/{incident_id}/acknowledge", json={}, headers=auth(tokens, "responder"))
    finally:
        receiver.hang.discard("/hooks/stakeholders")


@contextlib.asynccontextmanager
async def _crashing_escalator(services: dict[str, Service], **fault: str) -> AsyncIterator[subprocess.Popen[bytes]]:
    """Replace the escalator by one with a fault hook; afterwards (crashed or not) the normal one runs again."""
    normal = services["escalator"]
    assert normal.stop() == 0
    crashing = Service("escalator", normal.port, env={**ESCALATOR_ENV, **fault})
    try:
        crashing.start()
        assert crashing.process is not None
        yield crashing.process
    finally:
        crashing.kill()
        normal.start()


async def test_kill_9_between_emitting_and_recording_an_escalation(
    api: httpx.AsyncClient,
    tokens: dict[str, str],
    receiver: Receiver,
    settings: CommonSettings,
    services: dict[str, Service],
) -> None:
    async with _crashing_escalator(services, INCIDENTS_ESCALATOR_CRASH_AFTER_EMIT="incident.escalated") as crashing:
        incident_id = (await _p1(api, tokens))["incident_id"]
        assert await asyncio.to_thread(crashing.wait, 30) == 137, "died right after Kafka acked the escalation"
    crash_line = [
        line
        for line in (LOGS / f"escalator-{services['escalator'].port}.log").read_text().splitlines()
        if "fault_injected" in line
    ][-1]
    assert incident_id in crash_line, "the fault hit this test's escalation"

    async def level_2_accepted() -> list[dict[str, Any]]:
        return [e for e in await _escalations(api, tokens, incident_id) if e["data"]["level"] == 2]

    [accepted] = await eventually(level_2_accepted, timeout_s=30)
    assert accepted["event_id"] in crash_line, "the escalation emitted before the crash is the one accepted"
    await api.post(f"/v1/incidents/{incident_id}/acknowledge", json={}, headers=auth(tokens, "responder"))
    assert await eventually(lambda: _async(bool(receiver.about(incident_id))), 15)
    await asyncio.sleep(1.0)

    in_log = [e for e in await events_in_log(settings, incident_id) if isinstance(e, IncidentEscalated)]
    assert {str(e.event_id) for e in in_log if e.data.level == 2} == {accepted["event_id"]}, "re-emitted, same id"
    assert len([e for e in await _escalations(api, tokens, incident_id) if e["data"]["level"] == 2]) == 1
    pages = [r for r in receiver.about(incident_id) if r.path == "/hooks/leads"]
    assert 1 <= len(pages) <= 2 and len({r.idempotency_key for r in pages}) == 1


async def test_kill_9_between_a_delivery_and_its_record_resends_once_with_the_same_key(
    api: httpx.AsyncClient,
    tokens: dict[str, str],
    receiver: Receiver,
    db: asyncpg.Connection,
    services: dict[str, Service],
) -> None:
    async def outbox_idle() -> bool:
        return bool(await db.fetchval("SELECT count(*) FROM escalator_outbox WHERE status = 'pending'") == 0)

    assert await eventually(outbox_idle, timeout_s=40), "the crash must hit this test's delivery"
    async with _crashing_escalator(services, INCIDENTS_ESCALATOR_CRASH_AFTER_DELIVERY="1") as crashing:
        # A P4: no page at once, so the update's delivery is the one the crash hits.
        incident_id = (await log_incident(api, tokens, impact="low", urgency="medium"))["incident_id"]
        update = {"audience": "customers", "message": "Back to normal."}
        posted = await api.post(f"/v1/incidents/{incident_id}/updates", json=update, headers=auth(tokens, "manager"))
        assert posted.status_code == 200
        assert await asyncio.to_thread(crashing.wait, 30) == 137, "died after the receiver said 200"

    async def recorded() -> list[dict[str, Any]]:
        return [e for e in await _timeline(api, tokens, incident_id) if e["type"] == "incident.notification_sent"]

    [sent] = await eventually(recorded, timeout_s=30)
    await asyncio.sleep(1.0)
    pages = [r for r in receiver.about(incident_id) if r.path == "/hooks/stakeholders"]
    assert len(pages) == 2, "one extra attempt after the crash"
    assert len({r.idempotency_key for r in pages}) == 1, "carrying the same Idempotency-Key"
    assert sent["data"]["channel"] == "stakeholders"
    assert len(await recorded()) == 1


async def test_metrics_show_timers_and_notifications(services: dict[str, Service]) -> None:
    async with httpx.AsyncClient(base_url=services["escalator"].url) as client:
        text = (await client.get("/metrics")).text
    for name in (
        "escalator_timers_armed_total",
        "escalator_timers_fired_total",
        "escalator_timers_due",
        "escalator_timer_lateness_seconds_bucket",
        "escalator_notifications_total",
    ):
        assert name in text, name
