"""Listing incidents: filters, full-text search over notes, sorts and a stable keyset cursor."""

import uuid
from typing import Any

import httpx

from tests.integration.helpers import auth, log_incident


async def _act(api: httpx.AsyncClient, tokens: dict[str, str], incident_id: str, action: str, body: Any) -> None:
    answer = await api.post(f"/v1/incidents/{incident_id}/{action}", json=body, headers=auth(tokens, "responder"))
    assert answer.status_code == 200, answer.text


async def _pages(api: httpx.AsyncClient, tokens: dict[str, str], params: dict[str, Any]) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        answer = await api.get("/v1/incidents", params=query, headers=auth(tokens, "auditor"))
        assert answer.status_code == 200, answer.text
        pages.append([i["incident_id"] for i in answer.json()["items"]])
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return pages


async def test_filters_search_and_pagination(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    service = f"svc-{uuid.uuid4().hex[:8]}"
    levels = [("high", "high"), ("low", "low"), ("medium", "medium"), ("high", "high"), ("low", "medium")]
    created = [
        await log_incident(api, tokens, service=service, impact=i, urgency=u, title=f"Latency {n}")
        for n, (i, u) in enumerate(levels)
    ]
    ids = [c["incident_id"] for c in created]
    await _act(api, tokens, ids[1], "assign", {"team": "dba", "assignee": "carol"})
    await _act(api, tokens, ids[1], "notes", {"kind": "diagnosis", "text": "replication slot overflowing"})

    pages = await _pages(api, tokens, {"service": service, "limit": 2})
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [i for page in pages for i in page] == list(reversed(ids)), "newest first, each incident exactly once"

    priority_pages = await _pages(api, tokens, {"service": service, "limit": 2, "sort": "priority"})
    by_priority = [i for page in priority_pages for i in page]
    assert by_priority == [ids[0], ids[3], ids[2], ids[4], ids[1]], "P1 first, oldest first within a priority"

    found = await api.get("/v1/incidents", params={"q": "replication slots"}, headers=auth(tokens, "reporter"))
    assert [i["incident_id"] for i in found.json()["items"]] == [ids[1]], "stemmed match on a note's text"
    filtered = await api.get(
        "/v1/incidents",
        params={"service": service, "team": "dba", "assignee": "carol", "priority": "P5", "breached": "false"},
        headers=auth(tokens, "reporter"),
    )
    assert [i["incident_id"] for i in filtered.json()["items"]] == [ids[1]]
    window = await api.get(
        "/v1/incidents",
        params={"service": service, "created_from": created[3]["logged_at"], "created_to": "2999-01-01T00:00:00Z"},
        headers=auth(tokens, "reporter"),
    )
    assert {i["incident_id"] for i in window.json()["items"]} == {ids[3], ids[4]}


async def test_a_cursor_is_stable_while_new_incidents_arrive(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    service = f"svc-{uuid.uuid4().hex[:8]}"
    ids = [(await log_incident(api, tokens, service=service))["incident_id"] for _ in range(3)]
    first = await api.get("/v1/incidents", params={"service": service, "limit": 2}, headers=auth(tokens, "auditor"))
    await log_incident(api, tokens, service=service)  # newer: sorts before the page already read
    rest = await api.get(
        "/v1/incidents",
        params={"service": service, "limit": 2, "cursor": first.json()["next_cursor"]},
        headers=auth(tokens, "auditor"),
    )
    assert [i["incident_id"] for i in rest.json()["items"]] == [ids[0]]


async def test_bad_cursors_and_times_are_problems(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    headers = auth(tokens, "auditor")
    page = await api.get("/v1/incidents", params={"limit": 1}, headers=headers)
    cursor = page.json()["next_cursor"]
    for params in ({"cursor": "not-a-cursor"}, {"cursor": cursor, "sort": "priority"}):
        answer = await api.get("/v1/incidents", params=params, headers=headers)
        assert answer.status_code == 400
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"].endswith("/bad-cursor")
    naive = await api.get("/v1/incidents", params={"created_from": "2026-01-01T00:00:00"}, headers=headers)
    assert naive.status_code == 400 and naive.json()["type"].endswith("/bad-time")
    unknown_sort = await api.get("/v1/incidents", params={"sort": "title"}, headers=headers)
    assert unknown_sort.status_code == 422
