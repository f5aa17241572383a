"""`kill -9` of the projector in the middle of a batch, under load: nothing lost, nothing twice."""

import asyncio

import asyncpg
import httpx

from incidentctl.checker import check
from incidents_shared.settings import CommonSettings
from tests.integration.helpers import auth, eventually
from tests.integration.services import Service

SENDERS = 4


async def _send_until(api: httpx.AsyncClient, tokens: dict[str, str], stop: asyncio.Event, out: list[str]) -> None:
    headers = auth(tokens, "reporter", Prefer="respond-async")
    while not stop.is_set():
        answer = await api.post("/v1/incidents", json={"title": "under load", "service": "crash"}, headers=headers)
        assert answer.status_code == 202, answer.text
        out.append(answer.headers["Location"].rsplit("/", 1)[1])


async def _blocked_in_batch(db: asyncpg.Connection) -> bool:
    """The projector's batch transaction is waiting, its other writes done, for the stream counter row."""
    waiting = await db.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE stream_counter%'"
    )
    return bool(waiting)


async def test_kill_9_mid_batch_under_load(
    api: httpx.AsyncClient,
    tokens: dict[str, str],
    db: asyncpg.Connection,
    settings: CommonSettings,
    services: dict[str, Service],
) -> None:
    stop = asyncio.Event()
    event_ids: list[str] = []
    senders = [asyncio.create_task(_send_until(api, tokens, stop, event_ids)) for _ in range(SENDERS)]
    await asyncio.sleep(0.5)
    holder = await asyncpg.connect(settings.database_url)
    try:
        tx = holder.transaction()
        await tx.start()
        await holder.execute("SELECT position FROM stream_counter FOR UPDATE")  # the next batch stops here
        assert await eventually(lambda: _blocked_in_batch(db)), "a batch is in flight, mid-transaction"
        services["projector"].kill()  # SIGKILL
        await tx.rollback()
    finally:
        await holder.close()
    await asyncio.to_thread(services["projector"].start)
    await asyncio.sleep(0.5)
    stop.set()
    await asyncio.gather(*senders)

    async def all_judged() -> bool:
        count = await db.fetchval("SELECT count(*) FROM event_verdicts WHERE event_id = ANY($1::uuid[])", event_ids)
        return bool(count == len(event_ids))

    assert await eventually(all_judged, timeout_s=60), "every appended event got its verdict: nothing lost"
    rows = await db.fetch(
        "SELECT v.verdict, count(e.event_id) AS stored FROM event_verdicts v"
        " LEFT JOIN incident_events e USING (event_id) WHERE v.event_id = ANY($1::uuid[]) GROUP BY v.verdict",
        event_ids,
    )
    assert [(r["verdict"], r["stored"]) for r in rows] == [("accepted", len(event_ids))], "each stored once"
    positions = await db.fetchval(
        "SELECT count(DISTINCT position) FROM incident_events WHERE event_id = ANY($1::uuid[])", event_ids
    )
    assert positions == len(event_ids)
    report = await check(settings)
    assert report.ok, report.differences[:20]
