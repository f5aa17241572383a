"""Killing and doubling the platform's own processes under load: nothing lost, nothing duplicated."""

import asyncio
import os
import signal
import uuid

import asyncpg
import httpx

from incidents_shared.settings import CommonSettings
from tests.faults import report
from tests.faults.ledger import Load, check_invariants, event_id_for
from tests.integration.helpers import auth
from tests.integration.services import SPARE_PORT, Service


async def test_kill9_projector_mid_batch_under_load(
    api: httpx.AsyncClient,
    tokens: dict[str, str],
    db: asyncpg.Connection,
    settings: CommonSettings,
    services: dict[str, Service],
) -> None:
    load = Load(api, tokens["responder"])
    load.start()
    await asyncio.sleep(3)
    projector = services["projector"]
    assert projector.process is not None
    os.kill(projector.process.pid, signal.SIGKILL)
    projector.process.wait()
    projector.process = None
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
    assert folded.in_log[event_id_for(key)] == 1, "the retry appended nothing new"
    assert folded.verdicts[event_id_for(key)] == "accepted"
    report.record("kill -9 the API after the Kafka ack, client retries with its Idempotency-Key", None, folded)


async def test_a_second_projector_forces_a_rebalance_without_double_effects(
    api: httpx.AsyncClient, tokens: dict[str, str], db: asyncpg.Connection, settings: CommonSettings
) -> None:
    load = Load(api, tokens["responder"])
    load.start()
    await asyncio.sleep(2)
    second = Service("projector", SPARE_PORT)
    second.start()
    await asyncio.sleep(4)
    assert second.stop() == 0
    await asyncio.sleep(2)
    ledger = await load.finish()
    assert len(ledger.acknowledged) > 50
    report.record(
        "a second projector joins and leaves (rebalances)", ledger, await check_invariants(settings, db, ledger)
    )
