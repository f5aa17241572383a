"""Inputs that used to give a 500 or reach the log unbounded get a 4xx problem naming the field (issue 19,
finding 6): digits `int()` cannot read, positions beyond bigint, correlation ids of any length or bytes."""

import uuid

import httpx
import pytest

from incidents_shared.settings import CommonSettings
from tests.integration.helpers import auth, events_in_log, log_incident

PROBLEM = "application/problem+json"
BEYOND_INT64 = str(2**63)


def _headers(tokens: dict[str, str], role: str, name: bytes, value: bytes) -> list[tuple[bytes, bytes]]:
    """Raw header bytes: "²" as a client sends it in Latin-1 (b"\\xb2"), which the server reads back as "²"."""
    return [*((k.encode(), v.encode()) for k, v in auth(tokens, role).items()), (name, value)]


@pytest.mark.parametrize(
    "etag", [b'"\xb2"', b"\xb2", '"²"'.encode(), '"١"'.encode(), f'"{BEYOND_INT64}"'.encode(), b'"' + b"9" * 30 + b'"']
)
async def test_an_if_match_no_etag_spells_is_400(api: httpx.AsyncClient, tokens: dict[str, str], etag: bytes) -> None:
    created = await log_incident(api, tokens)
    answer = await api.post(
        f"/v1/incidents/{created['incident_id']}/acknowledge",
        json={},
        headers=_headers(tokens, "responder", b"If-Match", etag),
    )
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert "If-Match" in answer.json()["title"]
    shown = await api.get(f"/v1/incidents/{created['incident_id']}", headers=auth(tokens, "auditor"))
    assert shown.json()["status"] == "new", "nothing was appended"


@pytest.mark.parametrize("last_event_id", [b"\xb2", b"3\xb2", "²".encode(), BEYOND_INT64.encode(), b"-1"])
async def test_a_last_event_id_no_stream_sent_is_400_before_the_stream(
    api: httpx.AsyncClient, tokens: dict[str, str], last_event_id: bytes
) -> None:
    answer = await api.get("/v1/stream", headers=_headers(tokens, "auditor", b"Last-Event-ID", last_event_id))
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert "Last-Event-ID" in answer.json()["title"]


@pytest.mark.parametrize("after", [BEYOND_INT64, "99999999999999999999999", "²"])
async def test_an_after_beyond_bigint_is_422_before_the_stream(
    api: httpx.AsyncClient, tokens: dict[str, str], after: str
) -> None:
    answer = await api.get("/v1/stream", params={"after": after}, headers=auth(tokens, "auditor"))
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert ["query", "after"] in [error["loc"] for error in answer.json()["errors"]]


async def test_the_largest_position_is_a_stream_that_waits(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    async with api.stream(
        "GET", "/v1/stream", params={"after": str(2**63 - 1)}, headers=auth(tokens, "auditor"), timeout=5
    ) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")


async def _post_with_correlation(api: httpx.AsyncClient, tokens: dict[str, str], correlation: bytes) -> httpx.Response:
    return await api.post(
        "/v1/incidents",
        json={"title": f"correlated {uuid.uuid4()}", "service": "vpn"},
        headers=_headers(tokens, "reporter", b"X-Correlation-ID", correlation),
    )


@pytest.mark.parametrize(
    ("correlation", "why"),
    [
        (b"x" * 129, "at most 128 characters (this one has 129)"),
        (b"a" * 10_000, "at most 128 characters (this one has 10000)"),
        (b"caf\xe9", "only letters, digits"),
        (b"\xc2\xb2", "only letters, digits"),
        (b"two words", "only letters, digits"),
        (b'quote"d', "only letters, digits"),
    ],
)
async def test_a_correlation_id_out_of_bounds_is_422_naming_the_header(
    api: httpx.AsyncClient, tokens: dict[str, str], correlation: bytes, why: str
) -> None:
    answer = await _post_with_correlation(api, tokens, correlation)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM
    problem = answer.json()
    assert problem["type"].endswith("/bad-correlation-id")
    assert [error["loc"] for error in problem["errors"]] == [["header", "X-Correlation-ID"]]
    assert why in problem["detail"]
    assert answer.headers["X-Correlation-ID"].encode() != correlation, "the refused id is not echoed"


async def test_a_correlation_id_within_bounds_travels_into_the_event_unchanged(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings
) -> None:
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    longest = ("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1;" + "a" * 128)[:128]
    for correlation in (traceparent, longest):
        answer = await _post_with_correlation(api, tokens, correlation.encode())
        assert answer.status_code == 201, answer.text
        assert answer.headers["X-Correlation-ID"] == correlation
        [event] = await events_in_log(settings, answer.json()["incident_id"])
        assert event.correlation_id == correlation
