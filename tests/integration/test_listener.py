"""The one PostgreSQL listener comes back after its backend is terminated, and its users hear again."""

import asyncio
from functools import partial

import asyncpg
import httpx

from command_api.stream_query import LiveStream, StreamFilter
from incidents_shared.db import create_pool
from incidents_shared.listen import Listener
from incidents_shared.names import STREAM_CHANNEL
from incidents_shared.settings import CommonSettings
from incidents_shared.supervise import Worker, background
from tests.integration.helpers import eventually, log_incident
from tests.integration.services import Service


async def _terminate(db: asyncpg.Connection, application_name: str) -> list[int]:
    rows = await db.fetch(
        "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", application_name
    )
    return [r["pid"] for r in rows]


async def _listening_again(db: asyncpg.Connection, application_name: str, old: list[int]) -> bool:
    """A new backend of that name whose last statement was a LISTEN: it re-listened after the reconnect."""
    rows = await db.fetch(
        "SELECT pid, query FROM pg_stat_activity WHERE application_name = $1 AND NOT (pid = ANY($2::int[]))",
        application_name,
        old,
    )
    return any(r["query"].startswith("LISTEN") or r["query"] == "SELECT 1" for r in rows)


async def test_the_listener_reconnects_relistens_and_says_so(settings: CommonSettings, db: asyncpg.Connection) -> None:
    heard: list[str | None] = []
    listener = Listener(settings.database_url, "test-listener", {"test_listener_channel": heard.append})
    async with background([Worker("listener", listener.run, restart=True)]):
        await asyncio.wait_for(listener.listening.wait(), 10)
        await db.execute("SELECT pg_notify('test_listener_channel', 'before')")
        assert await eventually(lambda: _async("before" in heard))
        assert heard[0] is None, "told at once after the first connection too"

        killed = await _terminate(db, "test-listener")
        assert len(killed) == 1
        assert await eventually(lambda: _async(listener.connections == 2)), "reconnected"
        await asyncio.wait_for(listener.listening.wait(), 10)
        assert heard.count(None) == 2, "its users were told that they may have missed notifications"
        await db.execute("SELECT pg_notify('test_listener_channel', 'after')")
        assert await eventually(lambda: _async("after" in heard)), "notifications arrive again"


async def _async(value: bool) -> bool:
    return value


async def test_a_stream_is_still_notified_after_its_listener_was_killed(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings, db: asyncpg.Connection
) -> None:
    pool = await create_pool(settings)
    live = LiveStream(pool, recheck_s=3600)  # no re-check: only a notification wakes this stream
    listener = Listener(settings.database_url, "test-stream-listener", {STREAM_CHANNEL: live.notified})
    try:
        async with background([Worker("listener", listener.run, restart=True)]):
            await asyncio.wait_for(listener.listening.wait(), 10)
            killed = await _terminate(db, "test-stream-listener")
            assert await eventually(lambda: _listening_again(db, "test-stream-listener", killed))
            await asyncio.wait_for(listener.listening.wait(), 10)

            stream = live.follow(StreamFilter(), await live.position())
            pending = asyncio.ensure_future(anext(stream))
            await asyncio.sleep(0.2)  # the stream has read and now waits for a wake-up
            created = await log_incident(api, tokens, title="heard after the reconnect")
            frames = [await asyncio.wait_for(pending, 15)]  # other tests' incidents may come first: read on
            async with asyncio.timeout(15):
                while created["incident_id"] not in frames[-1]:
                    frames.append(await anext(stream))
            assert created["incident_id"] in frames[-1]
            await stream.aclose()
    finally:
        await pool.close()


async def test_every_service_listener_comes_back_after_its_backend_is_killed(
    services: dict[str, Service], api: httpx.AsyncClient, tokens: dict[str, str], db: asyncpg.Connection
) -> None:
    for name in ("projector-listener", "escalator-listener", "command-api-listener"):
        killed = await _terminate(db, name)
        assert killed, f"{name} was listening"
        assert await eventually(partial(_listening_again, db, name, killed)), f"{name} listens again"

    async with api.stream("GET", "/v1/stream", headers={"Authorization": f"Bearer {tokens['auditor']}"}) as stream:
        created = await log_incident(api, tokens, title="streamed after the API's listener came back")
        async with asyncio.timeout(15):
            async for line in stream.aiter_lines():
                if created["incident_id"] in line:
                    break
