"""Queries against the projector's read models."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from command_api.incident_query import Cursor, IncidentQuery
from incidents_shared.domain.state import Incident
from incidents_shared.report_query import (
    GroupBy,
    RecurBy,
    Window,
    recurring_row,
    recurring_sql,
    summary_row,
    summary_sql,
)


@dataclass(frozen=True)
class StoredEvent:
    version: int
    revision: int
    recorded_at: datetime
    event: dict[str, Any]
    prev_hash: str
    hash: str
    partition: int
    offset: int
    position: int


@dataclass(frozen=True)
class VerdictRow:
    event_id: UUID
    incident_id: UUID
    type: str
    verdict: str
    reason: str | None
    version: int
    revision: int
    hash: str | None
    request_hash: str | None
    partition: int
    offset: int
    judged_at: datetime
    state_json: str | None = None  # the incident's current state as the fold stored it (JSON text), same query
    state_revision: int | None = None

    def public(self) -> dict[str, Any]:
        return {
            "event_id": str(self.event_id),
            "incident_id": str(self.incident_id),
            "type": self.type,
            "verdict": self.verdict,
            "reason": self.reason,
            "version": self.version,
            "revision": self.revision,
            "hash": self.hash,
            "partition": self.partition,
            "offset": self.offset,
            "judged_at": self.judged_at.isoformat(),
        }


class ReadModel:
    def __init__(self, pool: "asyncpg.Pool[asyncpg.Record]") -> None:
        self.pool = pool

    async def incident(self, incident_id: UUID) -> Incident | None:
        # JSON text straight into pydantic-core: no dict in between (a hot path: every command reads it).
        raw = await self.pool.fetchval("SELECT state::text FROM incidents WHERE incident_id = $1", incident_id)
        return Incident.model_validate_json(raw) if raw is not None else None

    async def verdict(self, event_id: UUID) -> VerdictRow | None:
        row = await self.pool.fetchrow(
            "SELECT v.event_id, v.incident_id, v.type, v.verdict, v.reason, v.version, v.revision, v.hash,"
            ' v.request_hash, v.partition, v."offset", v.judged_at, i.state::text AS state_json,'
            " (i.state->>'revision')::int AS state_revision FROM event_verdicts v"
            " LEFT JOIN incidents i ON i.incident_id = v.incident_id WHERE v.event_id = $1",
            event_id,
        )
        return VerdictRow(**dict(row)) if row is not None else None

    async def timeline(self, incident_id: UUID) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT version, revision, event, hash FROM incident_events WHERE incident_id = $1 ORDER BY version",
            incident_id,
        )
        return [{**r["event"], "version": r["version"], "revision": r["revision"], "hash": r["hash"]} for r in rows]

    async def list_incidents(self, query: IncidentQuery) -> tuple[list[Incident], Cursor | None]:
        """A page of incidents and the cursor after it (None on the last page)."""
        sql, args = query.sql()
        rows = await self.pool.fetch(sql, *args)
        items = [Incident.model_validate(r["state"]) for r in rows]
        more = len(rows) == query.limit
        return items, Cursor.after(query.sort, dict(rows[-1])) if more else None

    async def stored_events(self, incident_id: UUID) -> list[StoredEvent]:
        """The incident's accepted events in stream order, as stored."""
        rows = await self.pool.fetch(
            'SELECT version, revision, recorded_at, event, prev_hash, hash, partition, "offset", position'
            " FROM incident_events WHERE incident_id = $1 ORDER BY version",
            incident_id,
        )
        return [StoredEvent(**dict(r)) for r in rows]

    async def summary(self, window: Window, group_by: GroupBy | None) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(summary_sql(window, group_by), *window.args())
        return [summary_row(dict(r)) for r in rows]

    async def recurring(self, window: Window, by: RecurBy, min_count: int, limit: int) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(recurring_sql(window, by), *window.args(), min_count, limit)
        return [recurring_row(dict(r)) for r in rows]

    async def parked(self) -> list[dict[str, Any]]:
        """Parked incidents, oldest first, with how many records wait behind each poison record."""
        rows = await self.pool.fetch(
            'SELECT p.incident_key, p.reason, p.partition, p."offset", p.parked_at,'
            " (SELECT count(*) FROM parked_events e WHERE e.incident_key = p.incident_key) AS waiting"
            " FROM parked_incidents p ORDER BY p.parked_at, p.incident_key LIMIT 1000"
        )
        return [{**dict(r), "parked_at": r["parked_at"].isoformat()} for r in rows]
