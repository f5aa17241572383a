"""The live stream: server-sent events in position order, resumable with Last-Event-ID, filterable."""

import asyncio
import json
from typing import Any

import httpx

from tests.integration.helpers import auth, log_incident


async def _read(api: httpx.AsyncClient, headers: dict[str, str], params: dict[str, Any], count: int) -> list[Any]:
    events: list[dict[str, Any]] = []
    async with api.stream("GET", "/v1/stream", params=params, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        current: dict[str, Any] = {}

        async def consume() -> None:
            async for line in response.aiter_lines():
                field, _, value = line.partition(": ")
                if field in ("id", "event", "data"):
                    current[field] = json.loads(value) if field == "data" else value
                elif line == "" and current:
                    events.append(dict(current))
                    current.clear()
                    if len(events) == count:
                        return

        await asyncio.wait_for(consume(), 15)
    return events


async def test_resume_with_last_event_id_misses_nothing_and_repeats_nothing(
    api: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    # No priority: the escalator appends nothing of its own (SLA targets) to this incident's stream.
    incident_id = (await log_incident(api, tokens, impact=None, urgency=None))["incident_id"]
    for action, body in (("acknowledge", {}), ("investigate", {}), ("notes", {"kind": "note", "text": "looking"})):
        answer = await api.post(f"/v1/incidents/{incident_id}/{action}", json=body, headers=auth(tokens, "responder"))
        assert answer.status_code == 200
    reader = auth(tokens, "auditor")

    everything = await _read(api, reader, {"incident": incident_id, "after": 0}, 4)
    assert [e["event"] for e in everything] == [
        "incident.logged",
        "incident.acknowledged",
        "incident.investigation_started",
        "incident.note_added",
    ]
    ids = [int(e["id"]) for e in everything]
    assert ids == sorted(set(ids)), "positions strictly increase"
    assert [e["data"]["version"] for e in everything] == [1, 2, 3, 4]

    resumed = await _read(api, {**reader, "Last-Event-ID": str(ids[1])}, {"incident": incident_id}, 2)
    assert resumed == everything[2:]

    notes = await _read(api, reader, {"incident": incident_id, "after": 0, "type": "incident.note_added"}, 1)
    assert notes == everything[3:]


async def test_live_events_arrive_and_filters_apply(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    p1 = (await log_incident(api, tokens, impact="high", urgency="high"))["incident_id"]
    p5 = (await log_incident(api, tokens, impact="low", urgency="low"))["incident_id"]
    # The escalator appends SLA targets (and, on the fast policy, escalations) to P1s: filter by type too.
    wanted = {"priority": "P1", "type": "incident.acknowledged"}
    listening = asyncio.create_task(_read(api, auth(tokens, "reporter"), wanted, 1))
    await asyncio.sleep(0.5)  # the stream starts at the live end: only what happens from now on
    for incident_id in (p5, p1):
        answer = await api.post(f"/v1/incidents/{incident_id}/acknowledge", json={}, headers=auth(tokens, "responder"))
        assert answer.status_code == 200
    (live,) = await listening
    assert (live["event"], live["data"]["incident_id"]) == ("incident.acknowledged", p1)


async def test_a_bad_last_event_id_is_a_problem(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    answer = await api.get("/v1/stream", headers=auth(tokens, "auditor", **{"Last-Event-ID": "abc"}))
    assert answer.status_code == 400 and answer.headers["content-type"] == "application/problem+json"
