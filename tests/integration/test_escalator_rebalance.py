"""Timers belong to the partitions an escalator owns and move with a rebalance: each step still fires once."""

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.integration.conftest import ESCALATOR_ENV, WEBHOOK_PORT
from tests.integration.helpers import auth, eventually, log_incident
from tests.integration.services import LOGS, SPARE_PORT, Service
from tests.integration.webhook import Receiver, running_receiver

INCIDENTS = 8


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver(WEBHOOK_PORT) as running:
        yield running


def _lines(service: Service, event: str) -> list[dict[str, Any]]:
    path: Path = LOGS / f"escalator-{service.port}.log"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]
    return [row for row in rows if row.get("event") == event]


def _owned(service: Service) -> set[int]:
    assigned = _lines(service, "timers_follow_assignment")
    return set(assigned[-1]["partitions"]) if assigned else set()


def _fired_steps(service: Service) -> set[str]:
    return {row["incident_id"] for row in _lines(service, "timer_fired") if row["kind"] == "step"}


async def _p1s(api: httpx.AsyncClient, tokens: dict[str, str]) -> list[str]:
    created = [
        await log_incident(api, tokens, title=f"Payments down {n}", impact="high", urgency="high")
        for n in range(INCIDENTS)
    ]
    return [c["incident_id"] for c in created]


async def _partitions(db: asyncpg.Connection, ids: list[str]) -> dict[str, int]:
    async def armed() -> dict[str, int]:
        rows = await db.fetch(
            "SELECT DISTINCT incident_id::text AS id, partition FROM escalator_timers"
            " WHERE kind = 'step' AND incident_id = ANY($1::uuid[])",
            ids,
        )
        found = {r["id"]: r["partition"] for r in rows}
        return found if len(found) == len(ids) else {}

    found: dict[str, int] = await eventually(armed, timeout_s=10)
    assert found, "every incident got its SLA targets and step timers"
    return found


async def _paged_once(receiver: Receiver, ids: list[str]) -> None:
    async def all_paged() -> bool:
        return all(any(r.path == "/hooks/leads" for r in receiver.about(i)) for i in ids)

    assert await eventually(all_paged, timeout_s=40)
    await asyncio.sleep(1.0)
    for incident_id in ids:
        assert len([r for r in receiver.about(incident_id) if r.path == "/hooks/leads"]) == 1, incident_id


async def test_timers_follow_partitions_through_a_rebalance(
    api: httpx.AsyncClient,
    tokens: dict[str, str],
    db: asyncpg.Connection,
    receiver: Receiver,
    services: dict[str, Service],
) -> None:
    first, second = services["escalator"], Service("escalator", SPARE_PORT, env=dict(ESCALATOR_ENV))
    second.start()
    try:

        async def split() -> bool:
            mine, theirs = _owned(first), _owned(second)
            return bool(mine) and bool(theirs) and not mine & theirs

        assert await eventually(split, timeout_s=30), "the group shares the partitions"
        ids = await _p1s(api, tokens)
        partitions = await _partitions(db, ids)
        await _paged_once(receiver, ids)
        theirs = _owned(second)
        assert {i for i in ids if partitions[i] in theirs} == _fired_steps(second) & set(ids)
        assert {i for i in ids if partitions[i] not in theirs} <= _fired_steps(first)

        # their step timers are armed, then their owner dies before they are due (4 s). An incident's partition
        # comes from its key, and all 8 of a batch can miss the second escalator's (1 in 256): then another batch,
        # whose predecessors are all the first escalator's and may fire there.
        assert theirs, "the second escalator still owns partitions"
        moving: list[str] = []
        partitions = {}
        for _ in range(6):
            batch = await _p1s(api, tokens)
            partitions |= await _partitions(db, batch)
            moving += batch
            if any(partitions[i] in theirs for i in batch):
                break
    finally:
        second.kill()  # kill -9: the group notices when its session times out, then the survivor takes over
    await _paged_once(receiver, moving)
    moved = {i for i in moving if partitions[i] in theirs}
    assert moved and not moved & _fired_steps(second), "their owner died before they were due"
    assert moved <= _fired_steps(first), "the survivor fired them"
    for incident_id in ids + moving:
        await api.post(f"/v1/incidents/{incident_id}/acknowledge", json={}, headers=auth(tokens, "responder"))
