"""An incident with 10,000 notes (issue 19, finding 4; docs/decisions/0091): its reads stay quick and paged, other
requests keep their latency, the 10,001st note is refused naming the limit, and a query past the statement timeout
or a wait past the pool's acquire timeout answers 503 with Retry-After, never 500."""

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from incidents_shared.settings import CommonSettings
from tests.integration.helpers import auth, eventually, log_incident
from tests.integration.rawlog import append_notes
from tests.integration.services import SPARE_PORT, Service

NOTES = 10_000  # the default limit, INCIDENTS_MAX_NOTES_PER_INCIDENT
NOTE_TEXT = "checked the connection pool, the replicas and the cache; " * 35  # about 2 KB each
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
async def crowded(api_url: str, tokens: dict[str, str], settings: CommonSettings) -> str:
    """An incident that has all the notes it may take, projected."""
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        incident_id: str = (await log_incident(api, tokens, title="Ten thousand notes"))["incident_id"]
        await append_notes(settings, incident_id, NOTES, NOTE_TEXT, "responder-bulk")

        async def all_projected() -> bool:
            shown = await api.get(f"/v1/incidents/{incident_id}", headers=auth(tokens, "auditor"))
            return bool(shown.json()["notes_count"] == NOTES)

        assert await eventually(all_projected, timeout_s=180), "the projector folded every note"
    return incident_id


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def _timed_gets(api: httpx.AsyncClient, url: str, headers: dict[str, str], count: int) -> list[float]:
    took = []
    for _ in range(count):
        start = time.perf_counter()
        answer = await api.get(url, headers=headers)
        took.append(time.perf_counter() - start)
        assert answer.status_code == 200, answer.text
    return took


async def _read_crowded(api: httpx.AsyncClient, incident_id: str, headers: dict[str, str], stop: asyncio.Event) -> int:
    """The load: the crowded incident read over and over, the way a console and scripts read it."""
    reads = 0
    base = f"/v1/incidents/{incident_id}"
    urls = [base, f"{base}/timeline", f"{base}/timeline?after={NOTES - 500}", f"{base}/audit?limit=200"]
    while not stop.is_set():
        answer = await api.get(urls[reads % len(urls)], headers=headers)
        assert answer.status_code == 200, answer.text
        reads += 1
    return reads


async def test_the_crowded_incident_reads_quickly_while_other_requests_keep_their_latency(
    api: httpx.AsyncClient, tokens: dict[str, str], crowded: str
) -> None:
    reader = auth(tokens, "auditor")
    other = (await log_incident(api, tokens, title="An ordinary incident"))["incident_id"]
    simple = f"/v1/incidents/{other}"
    await _timed_gets(api, simple, reader, 20)  # warm up
    before = _p99(await _timed_gets(api, simple, reader, 200))

    stop = asyncio.Event()
    load = [asyncio.create_task(_read_crowded(api, crowded, reader, stop)) for _ in range(2)]
    await asyncio.sleep(0.5)
    during = await _timed_gets(api, simple, reader, 200)
    stop.set()
    reads = sum(await asyncio.gather(*load))

    assert reads > 20, "the crowded incident was read throughout"
    assert _p99(during) < max(5 * before, 0.05) and _p99(during) < 0.5, (before, _p99(during))
    incident = await _timed_gets(api, f"/v1/incidents/{crowded}", reader, 20)
    page = await _timed_gets(api, f"/v1/incidents/{crowded}/timeline", reader, 5)
    assert max(incident) < 0.5 and max(page) < 1.0, (max(incident), max(page))


async def test_the_note_past_the_limit_is_refused_naming_it(
    api: httpx.AsyncClient, tokens: dict[str, str], crowded: str
) -> None:
    answer = await api.post(
        f"/v1/incidents/{crowded}/notes", json={"text": "one more"}, headers=auth(tokens, "responder")
    )
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"] == PROBLEM
    problem = answer.json()
    assert problem["type"].endswith("/invalid-transition")
    assert "10000" in problem["detail"] and "INCIDENTS_MAX_NOTES_PER_INCIDENT" in problem["detail"]
    shown = await api.get(f"/v1/incidents/{crowded}", headers=auth(tokens, "auditor"))
    assert shown.json()["notes_count"] == NOTES


async def test_a_note_larger_than_the_byte_limit_is_422_naming_it(
    api: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    incident_id = (await log_incident(api, tokens))["incident_id"]
    text = "🔥" * 17_000  # 17,000 characters (allowed), 68,000 bytes of UTF-8 (more than 65,536)
    answer = await api.post(
        f"/v1/incidents/{incident_id}/notes", json={"text": text}, headers=auth(tokens, "responder")
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert "68000 bytes" in answer.json()["detail"] and "INCIDENTS_MAX_NOTE_BYTES" in answer.json()["detail"]


async def _follow(api: httpx.AsyncClient, url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every page from `url` on, by the `next` links (checked against the Link header)."""
    pages = []
    next_url: str | None = url
    while next_url is not None:
        answer = await api.get(next_url, headers=headers)
        assert answer.status_code == 200, answer.text
        page: dict[str, Any] = answer.json()
        pages.append(page)
        next_url = page["next"]
        assert answer.headers.get("link") == (f'<{next_url}>; rel="next"' if next_url else None)
    return pages


async def test_paging_the_timeline_and_the_audit_gives_every_event_exactly_once(
    api: httpx.AsyncClient, tokens: dict[str, str], crowded: str
) -> None:
    headers = auth(tokens, "auditor")
    version = (await api.get(f"/v1/incidents/{crowded}", headers=headers)).json()["version"]
    first = (await api.get(f"/v1/incidents/{crowded}/timeline", headers=headers)).json()
    assert len(first["events"]) == 500 and first["next"] is not None, "the first page by default, with next"

    pages = await _follow(api, f"/v1/incidents/{crowded}/timeline?limit=1000", headers)
    ids = [e["event_id"] for page in pages for e in page["events"]]
    assert len(ids) == len(set(ids)) == version
    assert [e["version"] for page in pages for e in page["events"]] == list(range(1, version + 1))
    notes = [e for page in pages for e in page["events"] if e["type"] == "incident.note_added"]
    assert [n["data"]["text"].split(":")[0] for n in notes] == [str(n) for n in range(NOTES)]

    audited = await _follow(api, f"/v1/incidents/{crowded}/audit?limit=1000", headers)
    assert all(page["verified"] for page in audited), "each page's chain verifies, linked to the page before"
    assert [e["event_id"] for page in audited for e in page["events"]] == ids


async def test_as_of_folds_the_crowded_incident_in_chunks(
    api: httpx.AsyncClient, tokens: dict[str, str], crowded: str
) -> None:
    headers = auth(tokens, "auditor")
    middle = (await api.get(f"/v1/incidents/{crowded}/timeline?after=5000&limit=1", headers=headers)).json()
    at = middle["events"][0]["recorded_at"]
    now = await api.get(f"/v1/incidents/{crowded}", params={"as_of": datetime.now(UTC).isoformat()}, headers=headers)
    then = await api.get(f"/v1/incidents/{crowded}", params={"as_of": at}, headers=headers)
    assert now.status_code == then.status_code == 200, (now.text, then.text)
    assert now.json()["notes_count"] == NOTES
    assert 0 < then.json()["notes_count"] <= NOTES  # the prefix recorded by then (notes share recorded times)


async def test_pages_past_the_end_and_of_unknown_incidents(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    headers = auth(tokens, "auditor")
    incident_id = (await log_incident(api, tokens))["incident_id"]
    past = await api.get(f"/v1/incidents/{incident_id}/timeline?after=1000", headers=headers)
    assert past.status_code == 200 and past.json() == {"incident_id": incident_id, "events": [], "next": None}
    unknown = await api.get(f"/v1/incidents/{uuid.uuid4()}/timeline?after=10", headers=headers)
    assert unknown.status_code == 404
    for query in ("limit=0", "limit=1001", "after=-1", f"after={2**31}"):
        bad = await api.get(f"/v1/incidents/{incident_id}/timeline?{query}", headers=headers)
        assert bad.status_code == 422 and bad.headers["content-type"] == PROBLEM, (query, bad.text)


async def test_a_query_past_the_statement_timeout_or_a_full_pool_answers_503(
    tokens: dict[str, str], settings: CommonSettings, api: httpx.AsyncClient
) -> None:
    incident_id = (await log_incident(api, tokens))["incident_id"]
    timed = Service(
        "command-api",
        SPARE_PORT,
        env={
            "INCIDENTS_DB_STATEMENT_TIMEOUT_S": "1.5",
            "INCIDENTS_DB_ACQUIRE_TIMEOUT_S": "0.3",
            "INCIDENTS_DB_POOL_MAX": "1",
        },
    )
    timed.start()
    locker = await asyncpg.connect(settings.database_url)
    try:
        async with httpx.AsyncClient(base_url=timed.url, timeout=30) as client:
            url, headers = f"/v1/incidents/{incident_id}", auth(tokens, "auditor")
            assert (await client.get(url, headers=headers)).status_code == 200
            async with locker.transaction():
                await locker.execute("LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE")  # a query that cannot finish
                slow = asyncio.create_task(client.get(url, headers=headers))
                await asyncio.sleep(0.5)  # it holds the pool's one connection, waiting for the lock
                waiting = await client.get(url, headers=headers)
                stuck = await slow
            after = await client.get(url, headers=headers)
    finally:
        await locker.close()
        assert timed.stop() == 0
    for answer in (stuck, waiting):
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == PROBLEM and int(answer.headers["Retry-After"]) >= 1
    assert stuck.json()["detail"] == "QueryCanceledError" and waiting.json()["detail"] == "TimeoutError"
    assert after.status_code == 200, "served again once the database answers"
