"""A whole incident driven over HTTP, each state visible in GET and each event in the timeline."""

from typing import Any

import httpx

from incidents_shared.domain.events import BOOKKEEPING_TYPES, event_type
from incidents_shared.settings import CommonSettings
from tests.integration.helpers import auth, events_in_log, log_incident

STEPS: list[tuple[str, str, dict[str, Any], str]] = [
    # (action, role, body, expected status afterwards)
    ("categorize", "responder", {"category": "database", "subcategory": "performance"}, "new"),
    ("prioritize", "responder", {"impact": "high", "urgency": "high"}, "new"),
    ("assign", "responder", {"team": "dba", "assignee": "carol"}, "new"),
    ("acknowledge", "responder", {}, "acknowledged"),
    ("investigate", "responder", {}, "investigating"),
    ("notes", "responder", {"kind": "diagnosis", "text": "connection pool exhausted"}, "investigating"),
    ("hold", "responder", {"reason": "awaiting_vendor", "comment": "ticket #123 with the DB vendor"}, "on_hold"),
    ("resume", "responder", {}, "investigating"),
    ("escalate", "manager", {"target_team": "dba-leads", "comment": "needs a senior"}, "investigating"),
    ("declare-major", "responder", {"reason": "all checkouts failing"}, "investigating"),
    (
        "updates",
        "manager",
        {"audience": "customers", "message": "We are investigating checkout errors."},
        "investigating",
    ),
    ("notes", "responder", {"kind": "workaround", "text": "raised pool size to 200"}, "investigating"),
    (
        "resolve",
        "responder",
        {"resolution_code": "workaround", "summary": "pool raised", "root_cause": "leak"},
        "resolved",
    ),
    ("reopen", "responder", {"reason": "errors are back"}, "investigating"),
    ("resolve", "responder", {"resolution_code": "fixed", "summary": "leak fixed in v2.3.1"}, "resolved"),
    ("close", "manager", {}, "closed"),
    (
        "review",
        "manager",
        {
            "summary": "Pool leak after deploy",
            "action_items": [{"title": "Alert on pool saturation", "owner": "dba", "due": "2026-12-15"}],
        },
        "closed",
    ),
]


async def test_full_lifecycle_over_http(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings
) -> None:
    created = await log_incident(api, tokens, description="p95 latency 30s")
    incident_id = created["incident_id"]
    assert created["status"] == "new"
    assert created["priority"] == "P2", "high impact x medium urgency is P2 by the matrix"

    for action, role, body, status in STEPS:
        answer = await api.post(f"/v1/incidents/{incident_id}/{action}", json=body, headers=auth(tokens, role))
        assert answer.status_code == 200, (action, answer.text)
        current = await api.get(f"/v1/incidents/{incident_id}", headers=auth(tokens, "auditor"))
        assert current.json()["status"] == status, action
        assert answer.headers["ETag"] == current.headers["ETag"]

    final = (await api.get(f"/v1/incidents/{incident_id}", headers=auth(tokens, "reporter"))).json()
    assert final["priority"] == "P1"
    assert final["category"] == "database"
    assert final["team"] == "dba-leads" and final["assignee"] == "carol"
    assert final["major"] is True
    assert final["reopen_count"] == 1
    assert final["resolution_code"] == "fixed"
    assert final["action_items"][0]["title"] == "Alert on pool saturation"
    assert final["revision"] == len(STEPS) + 1

    timeline = (await api.get(f"/v1/incidents/{incident_id}/timeline", headers=auth(tokens, "auditor"))).json()
    types = [event["type"] for event in timeline["events"]]
    assert types[0] == "incident.logged"
    assert set(types) >= {
        "incident.categorized",
        "incident.prioritized",
        "incident.assigned",
        "incident.acknowledged",
        "incident.investigation_started",
        "incident.note_added",
        "incident.put_on_hold",
        "incident.resumed",
        "incident.escalated",
        "incident.major_declared",
        "incident.stakeholder_update_posted",
        "incident.resolved",
        "incident.reopened",
        "incident.closed",
        "incident.review_completed",
    }
    assert [event["version"] for event in timeline["events"]] == list(range(1, len(timeline["events"]) + 1))
    people = [event for event in timeline["events"] if event["type"] not in BOOKKEEPING_TYPES]  # not SLA targets
    assert [event["revision"] for event in people] == list(range(1, len(STEPS) + 2))

    in_log = await events_in_log(settings, incident_id)
    accepted = [event["event_id"] for event in timeline["events"]]
    assert [str(e.event_id) for e in in_log if str(e.event_id) in accepted] == accepted
    # The escalator may append SLA bookkeeping that lands after the incident closed: in the log, but rejected.
    for late in (e for e in in_log if str(e.event_id) not in accepted):
        assert event_type(type(late)) in BOOKKEEPING_TYPES
        verdict = await api.get(f"/v1/events/{late.event_id}", headers=auth(tokens, "auditor"))
        assert verdict.json()["verdict"] == "rejected_invalid"


async def test_correlation_id_travels_into_the_event(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings
) -> None:
    response = await api.post(
        "/v1/incidents",
        json={"title": "VPN flaps", "service": "vpn"},
        headers=auth(tokens, "reporter", **{"X-Correlation-ID": "req-abc-123"}),
    )
    assert response.status_code == 201
    assert response.headers["X-Correlation-ID"] == "req-abc-123"
    [event] = await events_in_log(settings, response.json()["incident_id"])
    assert event.correlation_id == "req-abc-123"
    assert event.actor.id == "dev-reporter" and event.actor.role == "reporter"


async def test_wrong_state_is_409_and_writes_nothing(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings
) -> None:
    created = await log_incident(api, tokens)
    incident_id = created["incident_id"]
    answer = await api.post(f"/v1/incidents/{incident_id}/close", json={}, headers=auth(tokens, "manager"))
    assert answer.status_code == 409
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == 409 and "not allowed" in problem["detail"]
    assert problem["current_version"] == 1
    in_log = [event_type(type(e)) for e in await events_in_log(settings, incident_id)]
    assert [t for t in in_log if t not in BOOKKEEPING_TYPES] == ["incident.logged"]


async def test_async_answer_and_verdict_lookup(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    created = await log_incident(api, tokens)
    answer = await api.post(
        f"/v1/incidents/{created['incident_id']}/acknowledge",
        json={},
        headers=auth(tokens, "responder", Prefer="respond-async"),
    )
    assert answer.status_code == 202
    location = answer.headers["Location"]
    assert location.startswith("/v1/events/")
    for _ in range(100):
        verdict = await api.get(location, headers=auth(tokens, "auditor"))
        if verdict.status_code == 200:
            break
    assert verdict.status_code == 200
    assert verdict.json()["verdict"] == "accepted"
    assert verdict.json()["revision"] == 2  # the escalator may have set SLA targets first (bookkeeping)
