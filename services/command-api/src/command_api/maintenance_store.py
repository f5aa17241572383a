"""Held alerts in PostgreSQL (`maintenance_held`, migration 0015): the `HeldStore` of the ingestion hook, the
queue the release worker claims from, and what `GET /v1/maintenance-windows/{id}` lists."""

import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from command_api.maintenance_hold import Held, HeldRow
from incidents_shared.db import Conn, Pool
from incidents_shared.domain.enums import AlertStatus
from incidents_shared.domain.events import Actor

_COLUMNS = (
    "id, window_id, windows, dedup_key, kind, source, service, summary, status, subjects, alert, actor, held_since,"
    " last_at, received, released_at, outcome, incident_id"
)
# One pending row per key: a later notification while it is held replaces what the release will decide (merged, for
# a group of the grouping rules, whose requests each bring some of its alerts: alert = {fingerprint: alert}).
_HOLD = """
INSERT INTO maintenance_held (window_id, windows, dedup_key, kind, source, service, summary, status, subjects,
                              alert, actor, held_since, last_at)
VALUES ($1, ARRAY[$1], $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
ON CONFLICT (dedup_key) WHERE released_at IS NULL DO UPDATE SET
    window_id = EXCLUDED.window_id,
    windows = CASE WHEN EXCLUDED.window_id = ANY(maintenance_held.windows) THEN maintenance_held.windows
                   ELSE array_append(maintenance_held.windows, EXCLUDED.window_id) END,
    kind = EXCLUDED.kind, service = EXCLUDED.service, summary = EXCLUDED.summary, status = EXCLUDED.status,
    subjects = CASE WHEN EXCLUDED.kind = 'grouped' THEN maintenance_held.subjects || EXCLUDED.subjects
                    ELSE EXCLUDED.subjects END,
    alert = CASE WHEN EXCLUDED.kind = 'grouped' THEN maintenance_held.alert || EXCLUDED.alert ELSE EXCLUDED.alert END,
    actor = EXCLUDED.actor,
    last_at = GREATEST(maintenance_held.last_at, EXCLUDED.last_at), received = maintenance_held.received + 1
"""
_RESOLVED = """
UPDATE maintenance_held SET status = 'resolved', last_at = GREATEST(last_at, $2), received = received + 1
WHERE dedup_key = $1 AND released_at IS NULL RETURNING window_id
"""
_MERGED = """
UPDATE maintenance_held SET alert = alert || $2, last_at = GREATEST(last_at, $3), received = received + 1,
    status = CASE WHEN EXISTS (SELECT 1 FROM jsonb_each(alert || $2) AS a WHERE a.value->>'status' = 'firing')
                  THEN 'firing' ELSE 'resolved' END
WHERE dedup_key = $1 AND released_at IS NULL AND kind = 'grouped' RETURNING window_id
"""
_CLAIM = f"""
SELECT {_COLUMNS} FROM maintenance_held WHERE released_at IS NULL AND window_id = ANY($1::text[])
ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED
"""


def _row(record: asyncpg.Record) -> HeldRow:
    fields: dict[str, Any] = dict(record)
    fields["status"] = AlertStatus(fields["status"])
    fields["subjects"] = [(service, labels) for service, labels in fields["subjects"]]
    fields["actor"] = Actor.model_validate(fields["actor"])
    return HeldRow(**fields)


class ClaimedBatch:
    """Pending rows locked by this transaction: no other instance releases them until it ends."""

    def __init__(self, conn: Conn, rows: list[HeldRow]) -> None:
        self._conn, self.rows = conn, rows

    async def released(self, row_id: int, outcome: str, incident_id: UUID | None, at: datetime) -> None:
        await self._conn.execute(
            "UPDATE maintenance_held SET released_at = $2, outcome = $3, incident_id = $4 WHERE id = $1",
            row_id, at, outcome, incident_id,
        )  # fmt: skip

    async def moved(self, row_id: int, window_id: str) -> None:
        """Another active window holds it now."""
        await self._conn.execute(
            "UPDATE maintenance_held SET window_id = $2, windows = array_append(windows, $2::text) WHERE id = $1",
            row_id,
            window_id,
        )


class PgHeldAlerts:
    """`maintenance_held`: held alerts, pending and released."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def hold(self, held: Held) -> None:
        await self._pool.execute(
            _HOLD,
            held.window_id, held.dedup_key, held.kind, held.source, held.service, held.summary, held.status.value,
            [list(subject) for subject in held.subjects], held.alert, held.actor.model_dump(mode="json"), held.at,
        )  # fmt: skip

    async def resolved(self, dedup_key: str, at: datetime) -> str | None:
        window_id: str | None = await self._pool.fetchval(_RESOLVED, dedup_key, at)
        return window_id

    async def merged(self, dedup_key: str, alerts: dict[str, Any], at: datetime) -> str | None:
        window_id: str | None = await self._pool.fetchval(_MERGED, dedup_key, alerts, at)
        return window_id

    async def pending_windows(self) -> set[str]:
        """The windows holding something that is still pending."""
        rows = await self._pool.fetch("SELECT DISTINCT window_id FROM maintenance_held WHERE released_at IS NULL")
        return {row["window_id"] for row in rows}

    @contextlib.asynccontextmanager
    async def claim(self, window_ids: Sequence[str], limit: int) -> AsyncIterator[ClaimedBatch]:
        """Lock up to `limit` pending rows of these windows for one transaction (skipping rows others locked)."""
        async with self._pool.acquire() as conn, conn.transaction():
            records = await conn.fetch(_CLAIM, list(window_ids), limit)
            yield ClaimedBatch(conn, [_row(record) for record in records])

    async def of_window(self, window_id: str, limit: int) -> list[HeldRow]:
        """What a window held (pending or released), oldest first."""
        records = await self._pool.fetch(
            f"SELECT {_COLUMNS} FROM maintenance_held WHERE windows @> ARRAY[$1] ORDER BY id LIMIT $2",
            window_id, limit,
        )  # fmt: skip
        return [_row(record) for record in records]
