"""Point in time and audit: an incident's past, reconstructed from its stored events."""

import asyncio
from datetime import UTC, datetime

import asyncpg
import httpx

from tests.integration.helpers import auth, log_incident, shown_with_sla_targets


async def test_as_of_equals_what_the_read_model_showed(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    created = await log_incident(api, tokens, title="Queue backlog", description="orders stuck")
    incident_id = created["incident_id"]
    url = f"/v1/incidents/{incident_id}"
    # The escalator sets the SLA targets (a bookkeeping event) right after the incident is logged; the moment
    # below must come after it, or as_of sees an event the read model had not shown yet.
    shown_then = await shown_with_sla_targets(api, tokens, incident_id)
    assert shown_then is not None, "the escalator set the SLA targets"
    moment = datetime.now(UTC)
    await asyncio.sleep(0.01)
    for action in ("acknowledge", "investigate"):
        answer = await api.post(f"{url}/{action}", json={}, headers=auth(tokens, "responder"))
        assert answer.status_code == 200

    past = await api.get(url, params={"as_of": moment.isoformat()}, headers=auth(tokens, "auditor"))
    assert past.status_code == 200
    assert past.json() == shown_then
    now = await api.get(url, params={"as_of": datetime.now(UTC).isoformat()}, headers=auth(tokens, "auditor"))
    assert now.json() == (await api.get(url, headers=auth(tokens, "auditor"))).json()
    assert now.json()["status"] == "investigating"

    before = await api.get(url, params={"as_of": "2000-01-01T00:00:00Z"}, headers=auth(tokens, "auditor"))
    assert before.status_code == 404 and before.json()["type"].endswith("/not-yet-logged")
    naive = await api.get(url, params={"as_of": "2026-01-01T00:00:00"}, headers=auth(tokens, "auditor"))
    assert naive.status_code == 400 and naive.json()["type"].endswith("/bad-as-of")
    garbage = await api.get(url, params={"as_of": "yesterday"}, headers=auth(tokens, "auditor"))
    assert garbage.status_code == 422 and garbage.headers["content-type"] == "application/problem+json"


async def test_audit_verifies_the_chain_and_spots_tampering(
    api: httpx.AsyncClient, tokens: dict[str, str], db: asyncpg.Connection
) -> None:
    created = await log_incident(api, tokens)
    incident_id = created["incident_id"]
    # The escalator appends the SLA targets right after the logging: wait for them, so the chain's order is known.
    assert await shown_with_sla_targets(api, tokens, incident_id) is not None
    await api.post(f"/v1/incidents/{incident_id}/acknowledge", json={}, headers=auth(tokens, "responder"))
    url = f"/v1/incidents/{incident_id}/audit"

    audit = (await api.get(url, headers=auth(tokens, "auditor"))).json()
    assert audit["verified"] is True
    assert [(e["version"], e["type"]) for e in audit["events"]] == [
        (1, "incident.logged"),
        (2, "incident.sla_targets_set"),
        (3, "incident.acknowledged"),
    ]
    assert audit["events"][1]["prev_hash"] == audit["events"][0]["hash"]
    assert audit["events"][2]["prev_hash"] == audit["events"][1]["hash"]

    original = await db.fetchval(
        "SELECT event FROM incident_events WHERE incident_id = $1 AND version = 1", created["incident_id"]
    )
    await db.execute(
        "UPDATE incident_events SET event = jsonb_set(event, '{data,title}', '\"Nothing to see\"')"
        " WHERE incident_id = $1 AND version = 1",
        created["incident_id"],
    )
    try:
        tampered = (await api.get(url, headers=auth(tokens, "auditor"))).json()
        assert tampered["verified"] is False and tampered["broken_versions"] == [1]
    finally:
        await db.execute(
            "UPDATE incident_events SET event = $2::text::jsonb WHERE incident_id = $1 AND version = 1",
            created["incident_id"],
            original,
        )
    assert (await api.get(url, headers=auth(tokens, "auditor"))).json()["verified"] is True
    assert (await api.get(url, headers=auth(tokens, "reporter"))).status_code == 403
