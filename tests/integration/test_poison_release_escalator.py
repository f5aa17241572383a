"""A parked incident released after a fix is released in the escalator too: the records it held back are folded
there, and the incident gets its SLA targets and timers as if it had never been parked (decision 0062)."""

import os
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from escalator.release import ReleaseFollower
from incidents_shared.db import create_pool
from incidents_shared.domain.escalation.book import PolicyBook
from incidents_shared.domain.escalation.people import People
from incidents_shared.policy_file import load_policy_file
from incidents_shared.settings import CommonSettings
from projector.release import release as release_in_projector
from tests.integration.conftest import ESCALATOR_ENV
from tests.integration.fixes import future_note
from tests.integration.helpers import auth, eventually, log_incident, shown_with_sla_targets
from tests.integration.rawlog import produce


def _book() -> PolicyBook:
    """The policy the escalator subprocess runs."""
    return PolicyBook(load_policy_file(Path(ESCALATOR_ENV["INCIDENTS_POLICY_FILE"]), {**os.environ, **ESCALATOR_ENV}))


async def _escalator_parked_at(db: asyncpg.Connection, key: str) -> int | None:
    partition: int | None = await db.fetchval("SELECT partition FROM escalator_parked WHERE incident_key = $1", key)
    return partition


async def _held_back_by_both(db: asyncpg.Connection, key: str, partition: int) -> bool:
    """The projector holds one record behind the poison, and the escalator has read as far as the projector."""
    waiting = await db.fetchval("SELECT count(*) FROM parked_events WHERE incident_key = $1", key)
    offsets = await db.fetch(
        "SELECT group_id, next_offset FROM consumer_offsets WHERE partition = $1 AND group_id = ANY($2::text[])",
        partition,
        ["projector", "escalator"],
    )
    by_group = {r["group_id"]: r["next_offset"] for r in offsets}
    return bool(waiting == 1 and by_group.get("escalator", -1) >= by_group.get("projector", 0))


async def _escalator_state(db: asyncpg.Connection, incident_id: str) -> Any:
    return await db.fetchrow(
        "SELECT state->>'priority' AS priority, (state->>'version')::int AS version FROM escalator_incidents"
        " WHERE incident_id = $1::uuid",
        incident_id,
    )


async def test_released_incident_is_folded_by_the_escalator_and_gets_its_sla_targets(
    api: httpx.AsyncClient, tokens: dict[str, str], db: asyncpg.Connection, settings: CommonSettings
) -> None:
    # No priority yet: nothing of the escalator's own is appended for it before the poison.
    incident_id = (await log_incident(api, tokens, title="held back", impact=None, urgency=None))["incident_id"]
    await produce(settings, incident_id, future_note(uuid.UUID(incident_id), "cache cold"))
    partition = await eventually(lambda: _escalator_parked_at(db, incident_id))
    assert partition is not None, "the escalator parks the incident behind the record it cannot decode"
    prioritized = await api.post(
        f"/v1/incidents/{incident_id}/prioritize",
        json={"impact": "high", "urgency": "medium"},
        headers=auth(tokens, "responder", Prefer="respond-async"),
    )
    assert prioritized.status_code == 202, prioritized.text
    assert await eventually(lambda: _held_back_by_both(db, incident_id, partition))
    held = await _escalator_state(db, incident_id)
    assert (held["priority"], held["version"]) == (None, 1), "the escalator folded nothing behind the poison"
    assert await db.fetchval("SELECT count(*) FROM escalator_timers WHERE incident_id = $1::uuid", incident_id) == 0

    pool = await create_pool(settings)
    try:
        follower = ReleaseFollower(pool, settings, _book(), People)
        before = await follower.follow_once()
        assert incident_id not in {r.key for r in before}, "nothing is released while the projector holds it"

        async with pool.acquire() as conn:
            done = await release_in_projector(conn, incident_id)
        assert (done.judged, done.accepted) == (2, 2)
        released = {r.key: r for r in await follower.follow_once()}
    finally:
        await pool.close()

    assert incident_id in released, "released in the escalator once the projector has released it"
    assert (released[incident_id].records, released[incident_id].judged) == (2, 2)
    assert await _escalator_parked_at(db, incident_id) is None
    folded = await _escalator_state(db, incident_id)
    assert (folded["priority"], folded["version"]) == ("P2", 3)

    shown = await shown_with_sla_targets(api, tokens, incident_id)
    assert shown is not None, "the escalator's timers run for the released incident: its SLA targets are set"
    assert shown["priority"] == "P2"
