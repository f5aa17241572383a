"""Races resolve by log order: If-Match conflicts and competing transitions, with the log and read model agreeing."""

import asyncio

import asyncpg
import httpx

from incidents_shared.domain.events import BOOKKEEPING_TYPES, IncidentAcknowledged
from incidents_shared.settings import CommonSettings
from tests.integration.helpers import auth, events_in_log, log_incident

RACERS = 50


async def _race(api: httpx.AsyncClient, incident_id: str, headers: dict[str, str]) -> list[httpx.Response]:
    return await asyncio.gather(
        *(api.post(f"/v1/incidents/{incident_id}/acknowledge", json={}, headers=headers) for _ in range(RACERS))
    )


async def _acks_in_log(settings: CommonSettings, incident_id: str) -> list[IncidentAcknowledged]:
    return [e for e in await events_in_log(settings, incident_id) if isinstance(e, IncidentAcknowledged)]


async def _verdicts(db: asyncpg.Connection, incident_id: str) -> dict[str, int]:
    rows = await db.fetch(
        "SELECT verdict, count(*) AS n FROM event_verdicts WHERE incident_id = $1 AND type = 'incident.acknowledged'"
        " GROUP BY verdict",
        incident_id,
    )
    return {r["verdict"]: r["n"] for r in rows}


async def test_50_acknowledges_with_the_same_if_match(
    api: httpx.AsyncClient, tokens: dict[str, str], db: asyncpg.Connection, settings: CommonSettings
) -> None:
    created = await log_incident(api, tokens)
    incident_id = created["incident_id"]
    answers = await _race(api, incident_id, auth(tokens, "responder", **{"If-Match": '"1"'}))
    codes = sorted(a.status_code for a in answers)
    assert codes.count(200) == 1 and codes.count(409) == RACERS - 1, codes
    assert all(a.json()["current_version"] == 2 for a in answers if a.status_code == 409)

    acks_in_log = await _acks_in_log(settings, incident_id)
    # Racers that read revision 2 are refused by decide and append nothing; the others are judged by the fold.
    expected = {"accepted": 1} | ({"rejected_conflict": len(acks_in_log) - 1} if len(acks_in_log) > 1 else {})
    assert await _verdicts(db, incident_id) == expected
    state = (await api.get(f"/v1/incidents/{incident_id}", headers=auth(tokens, "auditor"))).json()
    assert state["status"] == "acknowledged" and state["revision"] == 2


async def test_50_acknowledges_without_if_match_first_valid_wins(
    api: httpx.AsyncClient, tokens: dict[str, str], db: asyncpg.Connection, settings: CommonSettings
) -> None:
    created = await log_incident(api, tokens)
    incident_id = created["incident_id"]
    answers = await _race(api, incident_id, auth(tokens, "responder"))
    codes = sorted(a.status_code for a in answers)
    assert codes.count(200) == 1 and codes.count(409) == RACERS - 1, codes
    assert all(a.json()["type"].endswith("/invalid-transition") for a in answers if a.status_code == 409)

    acks_in_log = await _acks_in_log(settings, incident_id)
    verdicts = await _verdicts(db, incident_id)
    assert verdicts["accepted"] == 1
    assert verdicts.get("rejected_invalid", 0) == len(acks_in_log) - 1, "the log's later acks were all rejected"
    timeline = (await api.get(f"/v1/incidents/{incident_id}/timeline", headers=auth(tokens, "auditor"))).json()
    types = [e["type"] for e in timeline["events"] if e["type"] not in BOOKKEEPING_TYPES]  # the escalator's SLA targets
    assert types == ["incident.logged", "incident.acknowledged"]
