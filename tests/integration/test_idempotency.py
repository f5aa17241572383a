"""Idempotency-Key: the same key and body give the same answer and one event, even across an API restart."""

import uuid

import httpx

from incidents_shared.domain.events import BOOKKEEPING_TYPES, event_type
from incidents_shared.settings import CommonSettings
from tests.integration.helpers import auth, events_in_log
from tests.integration.services import Service

BODY = {"title": "Payments timing out", "service": "payments", "impact": "medium", "urgency": "high"}


async def test_same_key_same_body_same_answer_one_event_even_after_restart(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings, services: dict[str, Service]
) -> None:
    headers = auth(tokens, "reporter", **{"Idempotency-Key": f"create-{uuid.uuid4()}"})
    first = await api.post("/v1/incidents", json=BODY, headers=headers)
    second = await api.post("/v1/incidents", json=BODY, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert first.headers["ETag"] == second.headers["ETag"]

    services["command-api"].stop()
    services["command-api"].start()
    third = await api.post("/v1/incidents", json=BODY, headers=headers)
    assert third.status_code == 201 and third.json() == first.json()

    in_log = await events_in_log(settings, first.json()["incident_id"])
    by_the_api = [ev for ev in in_log if ev.actor.id != "escalator"]  # the escalator pages the P2's on-call at once
    assert [t for t in map(event_type, map(type, by_the_api)) if t not in BOOKKEEPING_TYPES] == ["incident.logged"]


async def test_same_key_other_body_is_422(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    headers = auth(tokens, "reporter", **{"Idempotency-Key": f"create-{uuid.uuid4()}"})
    assert (await api.post("/v1/incidents", json=BODY, headers=headers)).status_code == 201
    reused = await api.post("/v1/incidents", json={**BODY, "title": "Something else"}, headers=headers)
    assert reused.status_code == 422
    assert reused.headers["content-type"] == "application/problem+json"
    assert reused.json()["type"].endswith("/idempotency-key-reused")


async def test_keys_are_per_principal(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    key = {"Idempotency-Key": f"shared-{uuid.uuid4()}"}
    mine = await api.post("/v1/incidents", json=BODY, headers=auth(tokens, "reporter", **key))
    theirs = await api.post("/v1/incidents", json=BODY, headers=auth(tokens, "responder", **key))
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["incident_id"] != theirs.json()["incident_id"]


async def test_retried_transition_gets_the_same_answer(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    created = (await api.post("/v1/incidents", json=BODY, headers=auth(tokens, "reporter"))).json()
    headers = auth(tokens, "responder", **{"Idempotency-Key": f"ack-{uuid.uuid4()}"})
    url = f"/v1/incidents/{created['incident_id']}/acknowledge"
    first = await api.post(url, json={}, headers=headers)
    retry = await api.post(url, json={}, headers=headers)
    assert first.status_code == retry.status_code == 200, retry.text
    assert retry.json()["revision"] == first.json()["revision"] == 2
