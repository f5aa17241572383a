"""Bad input gets a clear RFC 9457 problem and writes nothing; an unreachable log gets 503, never a 2xx."""

import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from incidents_shared.settings import CommonSettings
from tests.integration.helpers import auth, log_incident
from tests.integration.services import SPARE_PORT, Service

PROBLEM = "application/problem+json"


async def test_validation_errors_are_problems(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    answer = await api.post(
        "/v1/incidents", json={"title": "", "service": "x", "colour": "red"}, headers=auth(tokens, "reporter")
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"] == PROBLEM
    problem = answer.json()
    assert problem["status"] == 422 and problem["title"]
    fields = {tuple(error["loc"]) for error in problem["errors"]}
    assert ("body", "title") in fields and ("body", "colour") in fields


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"title": "\\u0000", "service": 5}'])
async def test_malformed_bodies_are_4xx(api: httpx.AsyncClient, tokens: dict[str, str], body: bytes) -> None:
    answer = await api.post(
        "/v1/incidents", content=body, headers=auth(tokens, "reporter", **{"Content-Type": "application/json"})
    )
    assert 400 <= answer.status_code < 500
    assert answer.headers["content-type"] == PROBLEM


async def test_unknown_category_is_422(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    answer = await api.post(
        "/v1/incidents", json={"title": "t", "service": "s", "category": "plumbing"}, headers=auth(tokens, "reporter")
    )
    assert answer.status_code == 422
    assert "unknown category" in answer.json()["detail"]


async def test_unknown_incident_is_404(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    missing = uuid.uuid4()
    for answer in (
        await api.get(f"/v1/incidents/{missing}", headers=auth(tokens, "auditor")),
        await api.get(f"/v1/incidents/{missing}/timeline", headers=auth(tokens, "auditor")),
        await api.post(f"/v1/incidents/{missing}/acknowledge", json={}, headers=auth(tokens, "responder")),
    ):
        assert answer.status_code == 404
        assert answer.headers["content-type"] == PROBLEM
    assert (await api.get("/v1/nothing-here")).status_code == 404


async def test_body_limit_413_declared_and_chunked(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    huge = b'{"title": "' + b"x" * 2_000_000 + b'", "service": "s"}'
    declared = await api.post(
        "/v1/incidents", content=huge, headers=auth(tokens, "reporter", **{"Content-Type": "application/json"})
    )
    assert declared.status_code == 413
    assert declared.headers["content-type"] == PROBLEM

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(huge), 65_536):
            yield huge[start : start + 65_536]

    chunked = await api.post(
        "/v1/incidents", content=chunks(), headers=auth(tokens, "reporter", **{"Content-Type": "application/json"})
    )
    assert chunked.status_code == 413


async def test_bad_if_match_is_400(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    created = await log_incident(api, tokens)
    answer = await api.post(
        f"/v1/incidents/{created['incident_id']}/acknowledge",
        json={},
        headers=auth(tokens, "responder", **{"If-Match": "yesterday"}),
    )
    assert answer.status_code == 400 and answer.headers["content-type"] == PROBLEM


async def test_kafka_unreachable_is_503_with_retry_after_and_nothing_written(
    tokens: dict[str, str], settings: CommonSettings
) -> None:
    dead = Service(
        "command-api", SPARE_PORT, env={"INCIDENTS_KAFKA_BOOTSTRAP": "127.0.0.1:1", "INCIDENTS_APPEND_TIMEOUT_S": "2"}
    )
    dead.start()
    try:
        async with httpx.AsyncClient(base_url=dead.url, timeout=30) as client:
            started = time.monotonic()
            answer = await client.post(
                "/v1/incidents", json={"title": "t", "service": "s"}, headers=auth(tokens, "reporter")
            )
            elapsed = time.monotonic() - started
            ready = await client.get("/readyz")
    finally:
        assert dead.stop() == 0
    assert answer.status_code == 503
    assert answer.headers["content-type"] == PROBLEM
    assert int(answer.headers["Retry-After"]) > 0
    assert "127.0.0.1" not in answer.text and ":1" not in answer.text, "no broker address in the problem"
    assert answer.json()["detail"].startswith("The log could not be reached or did not acknowledge in time")
    assert "log_unavailable" in dead.log.read_text(), "the specifics are in the service's log"
    assert elapsed < 10, "a bounded wait, not a hang"
    assert ready.status_code == 503 and ready.json()["checks"]["kafka"] != "ok"
    assert ready.json()["checks"]["postgres"] == "ok"
