"""Two projector instances commit concurrently; a stream reader still sees every event exactly once, in order."""

import asyncio
import contextlib
import json
from typing import Any

import asyncpg
import httpx

from tests.integration.helpers import auth, eventually
from tests.integration.services import PORT_BASE, Service

SENDERS = 3
SECOND_PROJECTOR_PORT = PORT_BASE + 8


async def _follow(api: httpx.AsyncClient, headers: dict[str, str], after: int, seen: list[tuple[int, str]]) -> None:
    """Collect (position, event_id) from the stream until cancelled."""
    async with api.stream("GET", "/v1/stream", params={"after": after}, headers=headers) as response:
        current: dict[str, Any] = {}
        async for line in response.aiter_lines():
            field, _, value = line.partition(": ")
            if field in ("id", "data"):
                current[field] = value
            elif line == "" and "id" in current:
                seen.append((int(current["id"]), json.loads(current["data"])["event_id"]))
                current = {}


async def _send(api: httpx.AsyncClient, tokens: dict[str, str], stop: asyncio.Event) -> None:
    headers = auth(tokens, "reporter", Prefer="respond-async")
    while not stop.is_set():
        answer = await api.post("/v1/incidents", json={"title": "two projectors", "service": "sse"}, headers=headers)
        assert answer.status_code == 202


async def test_stream_with_two_projectors_misses_nothing(
    api: httpx.AsyncClient, tokens: dict[str, str], db: asyncpg.Connection
) -> None:
    second = Service("projector", SECOND_PROJECTOR_PORT)
    await asyncio.to_thread(second.start)
    try:
        start = await db.fetchval("SELECT position FROM stream_counter")
        seen: list[tuple[int, str]] = []
        reader = asyncio.create_task(_follow(api, auth(tokens, "auditor"), start, seen))
        stop = asyncio.Event()
        senders = [asyncio.create_task(_send(api, tokens, stop)) for _ in range(SENDERS)]
        await asyncio.sleep(4)
        stop.set()
        await asyncio.gather(*senders)
    finally:
        assert await asyncio.to_thread(second.stop) == 0

    async def settled() -> bool:
        lag = await db.fetchval("SELECT count(*) FROM event_verdicts WHERE judged_at > now() - interval '1 second'")
        return bool(lag == 0)

    await eventually(settled, timeout_s=30)
    stored = await db.fetch(
        "SELECT position, event_id::text FROM incident_events WHERE position > $1 ORDER BY position", start
    )
    expected = [(r["position"], r["event_id"]) for r in stored]

    async def delivered() -> bool:
        return bool(seen) and seen[-1][0] >= expected[-1][0]

    await eventually(delivered, timeout_s=30)
    reader.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reader
    assert seen == expected, "every event once, in position order"
    assert len(seen) > 20
