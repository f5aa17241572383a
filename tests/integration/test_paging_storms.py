"""No paging storms on the real stack, counted at a real webhook receiver: 50 new P2s for one team within a
minute page its on-call at most `max_pages` times (fast-demo: 3 within 20 s), then once more with one page listing
every other incident, each with an acknowledge link that works; every incident's timeline has its page, the held
ones naming the digest they went into."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from escalator import store, storms
from incidents_shared.db import Conn, create_pool
from incidents_shared.domain.escalation import storm
from incidents_shared.domain.escalation.book import PolicyBook
from incidents_shared.domain.escalation.fold import Outcome
from incidents_shared.domain.escalation.people import People
from incidents_shared.domain.escalation.timers import Timer, TimerKind, build_event, timer_id
from incidents_shared.domain.events import IncidentPaged
from incidents_shared.domain.state import Incident
from incidents_shared.policy_file import load_policy_file
from incidents_shared.settings import CommonSettings
from tests.integration.conftest import WEBHOOK_PORT
from tests.integration.helpers import auth, eventually
from tests.integration.services import ROOT
from tests.integration.webhook import Received, Receiver, running_receiver

pytestmark = pytest.mark.integration
HOOKS = f"http://127.0.0.1:{WEBHOOK_PORT}/hooks"
FAST_DEMO = ROOT / "examples" / "policies" / "fast-demo.yaml"
STORM = load_policy_file(FAST_DEMO, {}).storm
INCIDENTS = 50


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver(WEBHOOK_PORT) as running:
        yield running


async def _created(api: httpx.AsyncClient, tokens: dict[str, str], path: str, body: dict[str, Any]) -> None:
    answer = await api.post(path, json=body, headers=auth(tokens, "admin"))
    assert answer.status_code == 201, answer.text


async def a_team_with_one_oncall(api: httpx.AsyncClient, tokens: dict[str, str]) -> dict[str, str]:
    run = uuid.uuid4().hex[:8]
    ids = {"user": f"sam-{run}", "team": f"storefront-{run}", "service": f"catalog-{run}"}
    ids["schedule"] = f"{ids['team']}-oncall"
    contacts = [{"kind": "webhook", "address": f"{HOOKS}/page-{ids['user']}"}]
    user = {"id": ids["user"], "name": "Sam", "email": f"{ids['user']}@example.com", "time_zone": "UTC",
            "role": "responder", "contact_methods": contacts}  # fmt: skip
    await _created(api, tokens, "/v1/users", user)
    layer = {"name": "always", "start": "2026-01-05T09:00:00", "turn": "P1W", "users": [ids["user"]]}
    schedule = {"id": ids["schedule"], "name": "Storefront", "time_zone": "UTC", "layers": [layer]}
    await _created(api, tokens, "/v1/schedules", schedule)
    await _created(api, tokens, "/v1/teams", {"id": ids["team"], "name": "Storefront", "members": [ids["user"]],
                                              "schedule": ids["schedule"]})  # fmt: skip
    await _created(api, tokens, "/v1/services", {"id": ids["service"], "name": "Catalog", "owner_team": ids["team"]})
    return ids


async def a_p2(api: httpx.AsyncClient, tokens: dict[str, str], service: str, n: int) -> str:
    body = {"title": f"Catalog 5xx on host{n}", "service": service, "impact": "high", "urgency": "medium"}
    answer = await api.post("/v1/incidents", json=body, headers=auth(tokens, "reporter"))
    assert answer.status_code == 201, answer.text
    incident_id: str = answer.json()["incident_id"]
    return incident_id


async def test_fifty_new_incidents_page_the_oncall_at_most_max_pages_times_plus_one_digest(
    api: httpx.AsyncClient, tokens: dict[str, str], receiver: Receiver
) -> None:
    assert STORM is not None and STORM.window <= timedelta(seconds=30), "fast-demo keeps the storm window short"
    team = await a_team_with_one_oncall(api, tokens)
    path = f"/hooks/page-{team['user']}"
    started = datetime.now(UTC)
    incidents: list[str] = []
    for batch in range(0, INCIDENTS, 10):  # 50 within a few seconds, well inside the window and the minute
        incidents += await asyncio.gather(*(a_p2(api, tokens, team["service"], n) for n in range(batch, batch + 10)))
    assert datetime.now(UTC) - started < min(STORM.window, timedelta(minutes=1))

    def received() -> list[Received]:
        return [r for r in receiver.requests if r.path == path]

    async def digested() -> list[Received]:
        return [r for r in received() if r.body.get("reason") == "digest"]

    [digest] = await eventually(digested, timeout_s=STORM.window.total_seconds() + 30)
    await asyncio.sleep(3)  # anything more would come right after
    individual = [r for r in received() if r.body.get("reason") == "step"]
    assert len(individual) == STORM.max_pages, f"{STORM.max_pages} individual pages, no more"
    assert [r.body.get("reason") for r in received()].count("digest") == 1, "exactly one consolidated page"
    assert len(received()) == len(individual) + 1, "nothing else reached the on-call"

    listed = [item["incident_id"] for item in digest.body["incidents"]]
    paged = [r.body["incident_id"] for r in individual]
    assert sorted(listed + paged) == sorted(incidents), "every incident: paged alone or listed once"
    assert digest.body["total"] == len(listed) == INCIDENTS - len(individual)
    assert all(item["links"]["acknowledge"] for item in digest.body["incidents"])

    for incident_id in incidents:
        timeline = (await api.get(f"/v1/incidents/{incident_id}/timeline", headers=auth(tokens, "auditor"))).json()
        own = [ev for ev in timeline["events"] if ev["type"] == "incident.paged" and ev["data"]["reason"] == "step"]
        assert len(own) == 1, f"{incident_id}: its own page on its timeline"
        held = own[0]["data"].get("consolidated_into")
        assert held == (digest.body["page_id"] if incident_id in listed else None)

    first = digest.body["incidents"][0]
    acked = await api.post(first["links"]["acknowledge"], json={})
    assert acked.status_code == 200, acked.text
    assert acked.json()["status"] == "acknowledged"
    timeline = await api.get(f"/v1/incidents/{first['incident_id']}/timeline", headers=auth(tokens, "auditor"))
    [ack] = [ev for ev in timeline.json()["events"] if ev["type"] == "incident.acknowledged"]
    assert (ack["actor"]["id"], ack["data"]["page_link"]) == (team["user"], first["page_id"]), "by the held page"


def _page_timer(user: str, incident_id: uuid.UUID, partition: int, index: int = 0) -> Timer:
    page = uuid.uuid5(incident_id, f"page|{user}")
    payload = {"page_id": str(page), "user": user, "reason": "step", "about_event_id": str(page),
               "contact": {"index": index, "kind": "webhook", "address": f"{HOOKS}/page-{user}"}}  # fmt: skip
    now = datetime.now(UTC)
    ident = timer_id(incident_id, TimerKind.PAGE, index, now, str(page))
    return Timer(ident, incident_id, TimerKind.PAGE, index, now, partition, "cause", "test", payload)


def _state(incident_id: uuid.UUID, n: int) -> Incident:
    now = datetime.now(UTC)
    return Incident(incident_id=incident_id, title=f"Catalog 5xx on host{n}", service="catalog", reporter="carol",
                    logged_at=now, detected_at=now, updated_at=now)  # fmt: skip


async def test_instances_owning_other_partitions_share_one_count_per_person(settings: CommonSettings) -> None:
    """Four escalator instances (four connections, one partition each) fire 20 pages for one person at once: the
    count is one atomic upsert in PostgreSQL, so exactly max_pages go out and the rest are held into one digest;
    a retried timer and a later contact method are decided alike, and nothing is counted twice."""
    assert STORM is not None
    user, book = f"sam-{uuid.uuid4().hex[:8]}", PolicyBook(load_policy_file(FAST_DEMO, {}))
    incidents = [uuid.uuid4() for _ in range(20)]
    states = {incident_id: _state(incident_id, n) for n, incident_id in enumerate(incidents)}
    pool = await create_pool(settings)
    try:

        async def instance(partition: int) -> list[Timer]:
            mine = [_page_timer(user, i, partition) for n, i in enumerate(incidents) if n % 4 == partition]
            async with pool.acquire() as conn:
                return await storms.admit(conn, mine, states, book, datetime.now(UTC))

        fired = [t for group in await asyncio.gather(*(instance(p) for p in range(4))) for t in group]
        held = [t for t in fired if "consolidated_into" in t.payload]
        assert len(fired) - len(held) == STORM.max_pages
        assert len({t.payload["consolidated_into"] for t in held}) == 1, "one digest for the window"
        async with pool.acquire() as conn:
            retried, later = _page_timer(user, held[0].incident_id, 0), _page_timer(user, held[0].incident_id, 0, 1)
            again = await storms.admit(conn, [retried, later], states, book, datetime.now(UTC))
            pages = await conn.fetchval("SELECT pages FROM escalator_storms WHERE user_id = $1", user)
        assert [t.payload.get("consolidated_into") for t in again] == [held[0].payload["consolidated_into"]] * 2
        assert pages == len(incidents), "each page counted once"
    finally:
        await pool.close()


async def test_a_digest_waits_for_the_pages_decided_into_it_to_reach_the_fold(settings: CommonSettings) -> None:
    """Two pages held into one digest: while the fold has judged neither, or only one, the digest waits (a page
    held at the window's last instant is not left out); once both are judged it lists both, on the first one's
    incident."""
    assert STORM is not None
    user, book = f"sam-{uuid.uuid4().hex[:8]}", PolicyBook(load_policy_file(FAST_DEMO, {}))
    incidents = [uuid.uuid4() for _ in range(STORM.max_pages + 2)]
    states = {incident_id: _state(incident_id, n) for n, incident_id in enumerate(incidents)}
    pool = await create_pool(settings)

    async def digest_of(conn: Conn, timer: Timer) -> storms.Digests:
        return await storms.digests(conn, [timer], People(), datetime.now(UTC))

    try:
        async with pool.acquire() as conn:
            timers = await storms.admit(conn, [_page_timer(user, i, 0) for i in incidents], states, book,
                                        datetime.now(UTC))  # fmt: skip
            first, second = [_paged(t, states, book) for t in timers if "consolidated_into" in t.payload]
            digest = storm.digest_timer(first, 0)
            assert (await digest_of(conn, digest)).waiting == {digest.timer_id}, "neither judged yet"

            judged_one = Outcome(states=states, judged=[first.event_id], holds=[storm.hold_of(first)])
            await store.write_judged(conn, judged_one)
            assert (await digest_of(conn, digest)).waiting == {digest.timer_id}, "one of two judged"

            await store.write_judged(conn, Outcome(judged=[second.event_id], holds=[storm.hold_of(second)]))
            built = (await digest_of(conn, digest)).built[digest.timer_id]
        assert built is not None and built.data.digest is not None
        assert [item.incident_id for item in built.data.digest.incidents] == [first.incident_id, second.incident_id]
        assert (built.incident_id, built.data.reason.value) == (first.incident_id, "digest")
    finally:
        await pool.close()


def _paged(timer: Timer, states: dict[uuid.UUID, Incident], book: PolicyBook) -> IncidentPaged:
    event = build_event(timer, states[timer.incident_id], book, People(), datetime.now(UTC))
    assert isinstance(event, IncidentPaged)
    return event
