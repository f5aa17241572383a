"""Faults of the broker and the database under load: 503s meanwhile, recovery without restarts, no loss."""

import asyncio
import time

import asyncpg
import httpx

from incidents_shared.settings import CommonSettings
from tests.faults import report
from tests.faults.ledger import Load, check_invariants
from tests.faults.stack import Stack
from tests.integration.helpers import auth

BODY = {"title": "during a fault", "service": "checkout"}


async def _until_accepted(api: httpx.AsyncClient, tokens: dict[str, str], timeout_s: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        try:
            answer = await api.post("/v1/incidents", json=BODY, headers=auth(tokens, "responder"), timeout=10)
            if answer.status_code == 201:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.5)
    raise AssertionError(f"the API did not recover within {timeout_s}s")


async def test_broker_paused_30s_under_load(
    api: httpx.AsyncClient, tokens: dict[str, str], db: asyncpg.Connection, settings: CommonSettings, stack: Stack
) -> None:
    load = Load(api, tokens)
    load.start()
    await asyncio.sleep(2)
    stack.pause_kafka()
    try:
        await asyncio.sleep(30)
    finally:
        stack.resume_kafka()
    await _until_accepted(api, tokens, timeout_s=60)
    await asyncio.sleep(2)
    ledger = await load.finish()
    assert ledger.attempts(503) > 0, "commands during the pause were answered 503, not acknowledged"
    assert ledger.attempts("timeout") == 0, "every attempt got an answer within the client's 15 s: none hung"
    report.record("SIGSTOP the broker for 30 s", ledger, await check_invariants(settings, db, ledger))


async def test_broker_restart_gives_503_then_recovers_without_api_restart(
    api: httpx.AsyncClient, tokens: dict[str, str], db: asyncpg.Connection, settings: CommonSettings, stack: Stack
) -> None:
    load = Load(api, tokens)
    load.start()
    await asyncio.sleep(2)
    stack.stop_kafka()
    try:
        started = time.monotonic()
        down = await api.post("/v1/incidents", json=BODY, headers=auth(tokens, "responder"), timeout=30)
        assert time.monotonic() - started < 15, "a bounded answer while the broker is down"
        assert down.status_code == 503, down.text
        assert int(down.headers["Retry-After"]) >= 1
        assert down.headers["content-type"] == "application/problem+json"
    finally:
        stack.start_missing()
    await _until_accepted(api, tokens, timeout_s=90)
    await asyncio.sleep(2)
    ledger = await load.finish()
    report.record("stop and restart the broker", ledger, await check_invariants(settings, db, ledger))


async def test_postgres_stopped_during_projection(
    api: httpx.AsyncClient, tokens: dict[str, str], db: asyncpg.Connection, settings: CommonSettings, stack: Stack
) -> None:
    load = Load(api, tokens)
    load.start()
    await asyncio.sleep(2)
    await db.close()
    stack.stop_postgres_immediately()
    try:
        await asyncio.sleep(3)
        during = await api.get("/v1/incidents?limit=1", headers=auth(tokens, "auditor"))
        assert during.status_code == 503, during.text
    finally:
        stack.start_missing()
    await _until_accepted(api, tokens, timeout_s=90)
    await asyncio.sleep(2)
    ledger = await load.finish()
    fresh = await asyncpg.connect(settings.database_url)
    try:
        folded = await check_invariants(settings, fresh, ledger)
        report.record("stop PostgreSQL immediately during projection", ledger, folded)
    finally:
        await fresh.close()
