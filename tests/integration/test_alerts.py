"""Alerts through the real API, projector, Kafka and PostgreSQL: dedup under a storm, resolution, refire, duplicates."""

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import httpx
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from incidents_shared.appender import KafkaAppender
from incidents_shared.domain.codec import decode
from incidents_shared.domain.events import EventBase, IncidentAssigned, IncidentLogged
from incidents_shared.domain.fold import judge
from incidents_shared.domain.state import Incident
from incidents_shared.kafka import make_producer
from incidents_shared.settings import CommonSettings
from tests.integration.helpers import auth, records_in_log

STORM = 500


def _alert(key: str, status: str = "firing", **fields: Any) -> dict[str, Any]:
    body = {"dedup_key": key, "status": status, "severity": "critical", "summary": f"{key} is down", "service": "shop"}
    return {**body, **fields}


async def _post(api: httpx.AsyncClient, tokens: dict[str, str], body: Any) -> list[dict[str, Any]]:
    answer = await api.post("/v1/alerts", json=body, headers=auth(tokens, "integration"))
    assert answer.status_code == 200, answer.text
    results: list[dict[str, Any]] = answer.json()["results"]
    return results


async def _incident(api: httpx.AsyncClient, tokens: dict[str, str], incident_id: str) -> dict[str, Any]:
    answer = await api.get(f"/v1/incidents/{incident_id}", headers=auth(tokens, "auditor"))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _whole_log(settings: CommonSettings) -> list[EventBase]:
    """Every event in the topic, partition by partition in log order, read without the projector."""
    return [decode(r.value) for r in sorted(await records_in_log(settings), key=lambda r: (r.partition, r.offset))]


def _accepted(events: list[EventBase], incident_id: uuid.UUID) -> list[EventBase]:
    """Replay the fold over the log: the events of this incident that the log accepted, in order."""
    state: Incident | None = None
    accepted = []
    for event in (ev for ev in events if ev.incident_id == incident_id):
        verdict, state = judge(state, event, seen=False)
        if verdict.accepted:
            accepted.append(event)
    return accepted


async def test_an_alert_storm_opens_exactly_one_incident(
    api_url: str, tokens: dict[str, str], settings: CommonSettings, db: asyncpg.Connection
) -> None:
    key = f"storm-{uuid.uuid4()}"
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(base_url=api_url, timeout=120, limits=limits) as client:
        storm = _alert(key, labels={"team": "storm-team"})
        answers = await asyncio.gather(*(_post(client, tokens, storm) for _ in range(STORM)))
    outcomes = [results[0]["outcome"] for results in answers]
    assert outcomes.count("opened") == 1, sorted(set(outcomes))
    assert outcomes.count("correlated") == STORM - 1, sorted(set(outcomes))
    assert len({results[0]["incident_id"] for results in answers}) == 1

    rows = await db.fetch("SELECT incident_id, state FROM incidents WHERE dedup_key = $1", key)
    assert len(rows) == 1, "exactly one incident in the read model"
    state = json.loads(rows[0]["state"])
    assert state["alert_count"] == STORM, "every alert counted once"
    accepted = _accepted(await _whole_log(settings), rows[0]["incident_id"])
    assert [type(ev) for ev in accepted].count(IncidentLogged) == 1, "exactly one accepted incident.logged"
    assert [type(ev) for ev in accepted].count(IncidentAssigned) == 1, "assigned once, not by every racer"
    # The team label assigned it (the escalator may since have escalated this unacknowledged P1 to another team).
    assert [ev.data.team for ev in accepted if isinstance(ev, IncidentAssigned)] == ["storm-team"]
    logged = [ev for ev in accepted if isinstance(ev, IncidentLogged)]
    assert logged[0].data.dedup_key == key


async def test_repeats_correlate_and_the_incident_carries_the_mapping(
    api: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    key = f"repeat-{uuid.uuid4()}"
    labels = {"team": "payments", "category": "software", "env": "prod"}
    first = _alert(key, labels=labels, annotations={"runbook_url": "https://runbooks/shop"})
    first["starts_at"] = "2026-11-27T09:00:00+01:00"
    [opened] = await _post(api, tokens, first)
    assert (opened["outcome"], opened["status"]) == ("opened", "new")
    for _ in range(3):
        [again] = await _post(api, tokens, _alert(key))
        assert (again["outcome"], again["incident_id"]) == ("correlated", opened["incident_id"])

    incident = await _incident(api, tokens, opened["incident_id"])
    assert incident["alert_count"] == 4 and incident["source"] == "alert"
    assert (incident["priority"], incident["impact"], incident["urgency"]) == ("P1", "high", "high")
    assert incident["detected_at"] == "2026-11-27T08:00:00.000000Z", "startsAt is the detection time"
    assert incident["runbook_url"] == "https://runbooks/shop"
    assert (incident["service"], incident["category"], incident["team"]) == ("shop", "software", "payments")


async def test_resolved_alert_auto_resolves_only_an_unacknowledged_incident(
    api: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    quiet, owned = f"quiet-{uuid.uuid4()}", f"owned-{uuid.uuid4()}"
    [a, b] = await _post(api, tokens, [_alert(quiet), _alert(owned)])
    ack = await api.post(f"/v1/incidents/{b['incident_id']}/acknowledge", json={}, headers=auth(tokens, "responder"))
    assert ack.status_code == 200, ack.text

    [resolved, noted] = await _post(api, tokens, [_alert(quiet, "resolved"), _alert(owned, "resolved")])
    assert (resolved["outcome"], resolved["status"]) == ("resolved", "resolved")
    assert (noted["outcome"], noted["status"]) == ("noted", "acknowledged")
    assert (await _incident(api, tokens, a["incident_id"]))["resolution_code"] == "auto_resolved"
    timeline = await api.get(f"/v1/incidents/{b['incident_id']}/timeline", headers=auth(tokens, "auditor"))
    notes = [e for e in timeline.json()["events"] if e["type"] == "incident.note_added"]
    assert "resolved at the source" in notes[0]["data"]["text"]


async def test_refire_after_auto_resolve_reopens_and_after_a_human_fix_opens_anew(
    api: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    key = f"flappy-{uuid.uuid4()}"
    [opened] = await _post(api, tokens, _alert(key))
    await _post(api, tokens, _alert(key, "resolved"))
    [reopened] = await _post(api, tokens, _alert(key))
    assert (reopened["outcome"], reopened["incident_id"]) == ("reopened", opened["incident_id"])
    incident = await _incident(api, tokens, opened["incident_id"])
    assert (incident["status"], incident["reopen_count"], incident["alert_count"]) == ("investigating", 1, 2)

    fix = {"resolution_code": "fixed", "summary": "disk replaced"}
    url = f"/v1/incidents/{opened['incident_id']}/resolve"
    assert (await api.post(url, json=fix, headers=auth(tokens, "responder"))).status_code == 200
    [late_resolve] = await _post(api, tokens, _alert(key, "resolved"))
    assert late_resolve["outcome"] == "ignored"
    [fresh] = await _post(api, tokens, _alert(key))
    assert fresh["outcome"] == "opened" and fresh["incident_id"] != opened["incident_id"]


async def test_duplicate_of_resolves_the_duplicate_and_routes_its_alerts(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings
) -> None:
    dup_key, main_key = f"dup-{uuid.uuid4()}", f"main-{uuid.uuid4()}"
    [dup, main] = await _post(api, tokens, [_alert(dup_key), _alert(main_key)])
    link = {"other_incident_id": main["incident_id"], "relation": "duplicate_of"}
    linked = await api.post(f"/v1/incidents/{dup['incident_id']}/link", json=link, headers=auth(tokens, "responder"))
    assert linked.status_code == 200, linked.text
    assert (linked.json()["status"], linked.json()["resolution_code"]) == ("resolved", "duplicate")

    [routed] = await _post(api, tokens, _alert(dup_key))
    assert (routed["outcome"], routed["incident_id"]) == ("correlated", main["incident_id"])
    assert (await _incident(api, tokens, main["incident_id"]))["alert_count"] == 2

    records = await _records_of(settings, dup["incident_id"])
    linked_and_resolved = [r for r in records if r[2] in (b"incident.linked", b"incident.resolved")]
    assert len(linked_and_resolved) == 2
    assert linked_and_resolved[0][0] == linked_and_resolved[1][0], "both on one partition"
    assert linked_and_resolved[1][1] == linked_and_resolved[0][1] + 1, "adjacent offsets: one record batch"


async def _records_of(settings: CommonSettings, incident_id: str) -> list[tuple[int, int, bytes]]:
    """(partition, offset, type) of every record keyed by the incident."""
    records = [r for r in await records_in_log(settings) if r.key == incident_id]
    return sorted(
        (r.partition, r.offset, decode(r.value).model_dump(include={"type"})["type"].encode()) for r in records
    )


async def test_a_mixed_batch_gets_one_outcome_per_alert(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    key = f"mixed-{uuid.uuid4()}"
    bad = {"dedup_key": "bad", "status": "exploded", "summary": "x"}
    results = await _post(api, tokens, [_alert(key), bad, _alert(key), _alert(f"never-{key}", "resolved"), 42])
    assert [r["outcome"] for r in results] == ["opened", "invalid", "correlated", "ignored", "invalid"]
    assert results[1]["dedup_key"] == "bad" and results[1]["errors"][0]["loc"] == ["status"]
    too_many = await api.post("/v1/alerts", json=[_alert(key)] * 501, headers=auth(tokens, "integration"))
    assert too_many.status_code == 413 and too_many.headers["content-type"] == "application/problem+json"
    wrong = {"version": "3", "groupKey": "g", "status": "firing", "receiver": "r", "alerts": []}
    envelope = await api.post("/v1/alerts/alertmanager", json=wrong, headers=auth(tokens, "integration"))
    assert envelope.status_code == 422 and envelope.json()["type"].endswith("/validation")


async def test_grafana_payload_with_unknown_fields(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    fingerprint = uuid.uuid4().hex[:16]
    alert = {
        "status": "firing",
        "labels": {"alertname": "HighLatency", "severity": "warning", "service": "search"},
        "annotations": {"summary": "search p99 over 2s"},
        "startsAt": "2026-11-27T10:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "https://grafana/alerting/1",
        "fingerprint": fingerprint,
        "silenceURL": "https://grafana/silence",
        "values": {"A": 2.4},
    }
    body = {"receiver": "incidents", "status": "firing", "orgId": 1, "alerts": [alert], "title": "[FIRING:1]"}
    answer = await api.post("/v1/alerts/grafana", json=body, headers=auth(tokens, "integration"))
    assert answer.status_code == 200, answer.text
    [result] = answer.json()["results"]
    assert (result["outcome"], result["dedup_key"]) == ("opened", fingerprint)
    incident = await _incident(api, tokens, result["incident_id"])
    assert (incident["title"], incident["priority"], incident["service"]) == ("search p99 over 2s", "P3", "search")


async def test_keyed_sends_and_the_computed_partition_agree(settings: CommonSettings) -> None:
    topic = f"partition-check-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 5, 1)])
    finally:
        await admin.close()
    producer = make_producer(settings)
    await producer.start()
    try:
        for _ in range(40):
            key = str(uuid.uuid4()).encode()
            sent = await producer.send_and_wait(topic, b"{}", key=key)
            assert sent.partition == await KafkaAppender.partition_for(producer, topic, key)
    finally:
        await producer.stop()
