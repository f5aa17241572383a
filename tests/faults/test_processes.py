"""Killing and doubling the platform's own processes under load: nothing lost, nothing duplicated."""

import asyncio
import json
import os
import signal
import uuid

import asyncpg
import httpx

from incidents_shared.settings import CommonSettings
from tests.faults import report
from tests.faults.ledger import Load, check_invariants, event_id_for
from tests.integration.helpers import auth, eventually
from tests.integration.services import LOGS, SPARE_PORT, Service


async def _projector_blocked_mid_batch(db: asyncpg.Connection) -> bool:
    """The projector's batch transaction waits for the stream counter: its offsets, verdicts, incidents and
    notes of the batch are written, uncommitted (the counter is taken last, store.write_judged)."""
    waiting: int = await db.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE stream_counter%'"
    )
    return waiting > 0


async def test_kill9_projector_mid_batch_under_load(
    api: httpx.AsyncClient,
    tokens: dict[str, str],
    db: asyncpg.Connection,
    settings: CommonSettings,
    services: dict[str, Service],
) -> None:
    load = Load(api, tokens)
    load.start()
    await asyncio.sleep(3)
    projector = services["projector"]
    assert projector.process is not None
    holder = await asyncpg.connect(settings.database_url)
    try:
        async with holder.transaction():  # hold the row the batch takes last: the projector stops mid-batch
            await holder.execute("SELECT position FROM stream_counter FOR UPDATE")
            assert await eventually(lambda: _projector_blocked_mid_batch(db), timeout_s=20), "a batch in flight"
            os.kill(projector.process.pid, signal.SIGKILL)
            projector.process.wait()
            projector.process = None
    finally:
        await holder.close()  # the dead projector's transaction never commits: its backend rolls it back
    await asyncio.sleep(2)
    projector.start()
    await asyncio.sleep(3)
    ledger = await load.finish()
    assert len(ledger.acknowledged) > 50, ledger
    report.record("kill -9 the projector mid-batch, restart", ledger, await check_invariants(settings, db, ledger))


async def test_kill9_api_after_the_log_acked_then_retry_with_the_key(
    api: httpx.AsyncClient, tokens: dict[str, str], db: asyncpg.Connection, settings: CommonSettings
) -> None:
    crashing = Service("command-api", SPARE_PORT, env={"INCIDENTS_FAULT_CRASH_AFTER_APPEND": "true"})
    crashing.start()
    key = f"crash-{uuid.uuid4()}"
    headers = auth(tokens, "responder", **{"Idempotency-Key": key})
    body = {"title": "API died after the append", "service": "checkout"}
    async with httpx.AsyncClient(base_url=crashing.url, timeout=30) as client:
        try:
            answer = await client.post("/v1/incidents", json=body, headers=headers)
        except httpx.HTTPError:
            answer = None
    assert answer is None, "the client got no answer"
    assert crashing.process is not None and crashing.process.wait(10) == 137
    crashing.process = None

    retried = await api.post("/v1/incidents", json=body, headers=headers)
    assert retried.status_code == 201, retried.text
    folded = await check_invariants(settings, db, None)
    timeline = await api.get(f"/v1/incidents/{retried.json()['incident_id']}/timeline", headers=auth(tokens, "auditor"))
    first = event_id_for(timeline.json()["events"][0]["actor"]["id"], key)
    assert folded.in_log[first] == 1, "the retry appended nothing new"
    assert folded.verdicts[first] == "accepted"
    report.record("kill -9 the API after the Kafka ack, client retries with its Idempotency-Key", None, folded)


def _assigned(service: Service) -> list[dict[str, int]]:
    path = LOGS / f"projector-{service.port}.log"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")] if path.exists() else []
    return [row["partitions"] for row in rows if row.get("event") == "partitions_assigned"]


async def test_a_second_projector_forces_a_rebalance_without_double_effects(
    api: httpx.AsyncClient, tokens: dict[str, str], db: asyncpg.Connection, settings: CommonSettings
) -> None:
    load = Load(api, tokens)
    load.start()
    await asyncio.sleep(2)
    second = Service("projector", SPARE_PORT)
    second.start()

    async def shares() -> bool:
        assigned = _assigned(second)
        return bool(assigned and assigned[-1])

    assert await eventually(shares, timeout_s=30), "the second projector got partitions"
    await asyncio.sleep(3)  # both project under load
    assert second.stop() == 0
    await asyncio.sleep(2)
    ledger = await load.finish()
    assert len(ledger.acknowledged) > 50
    report.record(
        "a second projector joins and leaves (rebalances)", ledger, await check_invariants(settings, db, ledger)
    )
