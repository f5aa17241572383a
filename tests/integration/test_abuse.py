"""Hostile input: 4xx, never 5xx, nothing half-written; accepted text round-trips intact; rate limits."""

import asyncio

import httpx

from tests.integration.helpers import auth
from tests.integration.services import SPARE_PORT, Service

PROBLEM = "application/problem+json"
JSON = {"Content-Type": "application/json"}


async def test_nul_and_lone_surrogates_are_422(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    for raw in (
        b'{"title": "nul \\u0000 byte", "service": "s"}',
        b'{"title": "lone \\ud800 surrogate", "service": "s"}',
        b'{"title": "ok", "service": "s", "labels": {"k\\u0000": "v"}}',
    ):
        answer = await api.post("/v1/incidents", content=raw, headers=auth(tokens, "reporter", **JSON))
        assert answer.status_code == 422, raw
        assert answer.headers["content-type"] == PROBLEM


async def test_deeply_nested_json_is_4xx(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    for depth in (1_000, 100_000):
        body = b'{"title": "t", "service": "s", "labels": ' + b"[" * depth + b"]" * depth + b"}"
        answer = await api.post("/v1/incidents", content=body, headers=auth(tokens, "reporter", **JSON))
        assert 400 <= answer.status_code < 500, (depth, answer.status_code)
        assert answer.headers["content-type"] == PROBLEM


async def test_accepted_text_round_trips_intact(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    title = "Ünïcödé 🔥 مرحبا 漢字 e\u0301 \u200d\U0001f469\u200d\U0001f4bb \\ \" ' <script>"
    body = {
        "title": title,
        "service": "grenzüberschreitend",
        "labels": {"région": "île-de-france 🇫🇷"},
        "description": "line 1\nline 2\ttab",
    }
    created = await api.post("/v1/incidents", json=body, headers=auth(tokens, "reporter"))
    assert created.status_code == 201, created.text
    fetched = (await api.get(f"/v1/incidents/{created.json()['incident_id']}", headers=auth(tokens, "auditor"))).json()
    assert fetched["title"] == title
    assert fetched["service"] == body["service"]
    assert fetched["labels"] == body["labels"]
    assert fetched["description"] == body["description"]


async def test_rate_limit_per_token_is_429_with_retry_after(tokens: dict[str, str]) -> None:
    limited = Service(
        "command-api", SPARE_PORT, env={"INCIDENTS_RATE_LIMIT_PER_S": "2", "INCIDENTS_RATE_LIMIT_BURST": "5"}
    )
    limited.start()
    try:
        async with httpx.AsyncClient(base_url=limited.url, timeout=30) as client:
            answers = await asyncio.gather(
                *(client.get("/v1/incidents?limit=1", headers=auth(tokens, "auditor")) for _ in range(20))
            )
            other = await client.get("/v1/incidents?limit=1", headers=auth(tokens, "manager"))
    finally:
        assert limited.stop() == 0
    codes = [a.status_code for a in answers]
    assert codes.count(200) == 5 and codes.count(429) == 15, codes
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.headers["content-type"] == PROBLEM
    assert int(refused.headers["Retry-After"]) >= 1
    assert other.status_code == 200, "the limit is per principal"
