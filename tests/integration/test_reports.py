"""Reports over real incidents: counts, MTTA/MTTR from event times, SLA compliance, breaches, recurrences."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from incidents_shared.domain.codec import canonical_bytes
from incidents_shared.settings import CommonSettings
from tests.integration.helpers import auth, eventually, log_incident
from tests.integration.rawlog import logged_event, produce, raw_event


def _seconds(later: str, earlier: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (rank - low) * (ordered[high] - ordered[low])


async def _step(api: httpx.AsyncClient, tokens: dict[str, str], incident_id: str, action: str, body: Any) -> None:
    answer = await api.post(f"/v1/incidents/{incident_id}/{action}", json=body, headers=auth(tokens, "responder"))
    assert answer.status_code == 200, answer.text


async def _projected(api: httpx.AsyncClient, tokens: dict[str, str], incident_id: uuid.UUID) -> dict[str, Any]:
    async def check() -> Any:
        answer = await api.get(f"/v1/incidents/{incident_id}", headers=auth(tokens, "auditor"))
        return answer.json() if answer.status_code == 200 else None

    found: dict[str, Any] = await eventually(check)
    assert found, f"incident {incident_id} never projected"
    return found


async def test_summary_by_service(api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings) -> None:
    service, start = f"rep-{uuid.uuid4().hex[:8]}", datetime.now(UTC) - timedelta(seconds=1)
    ids = [(await log_incident(api, tokens, service=service))["incident_id"] for _ in range(3)]
    for incident_id in ids[:2]:
        await _step(api, tokens, incident_id, "acknowledge", {})
    await _step(api, tokens, ids[0], "resolve", {"resolution_code": "fixed", "summary": "restarted"})
    breach = raw_event(
        "incident.sla_breached", uuid.UUID(ids[2]), {"target": "acknowledge", "due_at": start.isoformat()}, 1
    )
    await produce(settings, ids[2], breach)
    drill = logged_event(uuid.uuid4(), service=service, source="drill", title="game day")
    await produce(settings, str(drill.incident_id), canonical_bytes(drill))
    await _projected(api, tokens, drill.incident_id)
    shown = [(await api.get(f"/v1/incidents/{i}", headers=auth(tokens, "auditor"))).json() for i in ids]
    assert shown[2]["breached"] == ["acknowledge"]

    params = {"from": start.isoformat(), "to": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()}
    answer = await api.get(
        "/v1/reports/summary", params={**params, "group_by": "service"}, headers=auth(tokens, "manager")
    )
    assert answer.status_code == 200, answer.text
    group = next(g for g in answer.json()["groups"] if g["group"] == service)
    assert group["total"] == 3, "the drill is left out"
    assert {k: v for k, v in group["by_status"].items() if v} == {"resolved": 1, "acknowledged": 1, "new": 1}
    mtta = [_seconds(s["acknowledged_at"], s["logged_at"]) for s in shown[:2]]
    assert group["mtta_seconds"]["count"] == 2
    assert abs(group["mtta_seconds"]["mean"] - sum(mtta) / 2) < 0.01
    assert abs(group["mtta_seconds"]["p50"] - _percentile(mtta, 0.5)) < 0.01
    assert abs(group["mtta_seconds"]["p90"] - _percentile(mtta, 0.9)) < 0.01
    assert abs(group["mttr_seconds"]["mean"] - _seconds(shown[0]["resolved_at"], shown[0]["detected_at"])) < 0.01
    assert group["breaches"] == 1
    assert group["sla_compliance_pct"] == 50.0, "one resolved in time, one breached"

    with_drills = await api.get(
        "/v1/reports/summary",
        params={**params, "group_by": "service", "include_drills": "true"},
        headers=auth(tokens, "manager"),
    )
    assert next(g for g in with_drills.json()["groups"] if g["group"] == service)["total"] == 4


async def test_recurring_issues(api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings) -> None:
    service, start = f"rec-{uuid.uuid4().hex[:8]}", datetime.now(UTC) - timedelta(seconds=1)
    ids = [(await log_incident(api, tokens, service=service))["incident_id"] for _ in range(3)]
    for incident_id in ids:
        await _step(api, tokens, incident_id, "categorize", {"category": "database", "subcategory": "performance"})
    key = f"disk-full-{uuid.uuid4().hex[:8]}"
    alerts = [logged_event(uuid.uuid4(), service=service, source="alert", dedup_key=key) for _ in range(2)]
    for alert in alerts:
        await produce(settings, str(alert.incident_id), canonical_bytes(alert))
        await _projected(api, tokens, alert.incident_id)

    params: dict[str, Any] = {
        "from": start.isoformat(),
        "to": (datetime.now(UTC) + timedelta(minutes=1)).isoformat(),
        "min_count": 2,
    }
    answer = await api.get("/v1/reports/recurring", params=params, headers=auth(tokens, "auditor"))
    assert answer.status_code == 200, answer.text
    mine = [g for g in answer.json()["groups"] if g["service"] == service]
    assert [(g["category"], g["occurrences"]) for g in mine] == [("database", 3), ("(none)", 2)]
    assert set(mine[0]["latest_incident_ids"]) == set(ids)
    counts = [g["occurrences"] for g in answer.json()["groups"]]
    assert counts == sorted(counts, reverse=True), "most frequent first"

    by_key = await api.get(
        "/v1/reports/recurring", params={**params, "by": "dedup_key"}, headers=auth(tokens, "auditor")
    )
    assert [g["occurrences"] for g in by_key.json()["groups"] if g["dedup_key"] == key] == [2]


async def test_report_windows_are_checked(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    backwards = {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}
    answer = await api.get("/v1/reports/summary", params=backwards, headers=auth(tokens, "auditor"))
    assert answer.status_code == 400 and answer.json()["type"].endswith("/bad-window")
    naive = await api.get(
        "/v1/reports/recurring", params={"from": "2026-01-01T00:00:00"}, headers=auth(tokens, "auditor")
    )
    assert naive.status_code == 400 and answer.headers["content-type"] == "application/problem+json"
    unknown = await api.get("/v1/reports/summary", params={"group_by": "colour"}, headers=auth(tokens, "auditor"))
    assert unknown.status_code == 422
