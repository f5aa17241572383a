"""Queries against the projector's read models."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from command_api.incident_query import Cursor, IncidentQuery
from command_api.records import ReleaseRow, VerdictRow
from incidents_shared.domain.state import Incident
from incidents_shared.readside import RELEASE_CHANNEL
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


class ReadModel:
    """The projector's read models, queried; the `IncidentReader` and `ReleaseRequests` ports of the use cases."""

    def __init__(self, pool: "asyncpg.Pool[asyncpg.Record]") -> None:
        self.pool = pool

    async def incident(self, incident_id: UUID) -> Incident | None:
        # JSON text straight into pydantic-core: no dict in between (a hot path: every command reads it).
        raw = await self.pool.fetchval("SELECT state::text FROM incidents WHERE incident_id = $1", incident_id)
        return Incident.model_validate_json(raw) if raw is not None else None

    async def incidents_of_key(self, dedup_key: str) -> dict[UUID, Incident]:
        rows = await self.pool.fetch("SELECT state FROM incidents WHERE dedup_key = $1", dedup_key)
        return {(s := Incident.model_validate(r["state"])).incident_id: s for r in rows}

    async def verdict(self, event_id: UUID) -> VerdictRow | None:
        row = await self.pool.fetchrow(
            "SELECT v.event_id, v.incident_id, v.type, v.verdict, v.reason, v.version, v.revision, v.hash,"
            ' v.request_hash, v.partition, v."offset", v.judged_at, v.actor_id, i.state::text AS state_json,'
            " (i.state->>'revision')::int AS state_revision FROM event_verdicts v"
            " LEFT JOIN incidents i ON i.incident_id = v.incident_id WHERE v.event_id = $1",
            event_id,
        )
        return VerdictRow(**dict(row)) if row is not None else None

    async def timeline(self, incident_id: UUID, after: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """The incident's accepted events after version `after`, oldest first: at most `limit` (None: all)."""
        rows = await self.pool.fetch(
            "SELECT version, revision, event, hash FROM incident_events WHERE incident_id = $1 AND version > $2"
            " ORDER BY version LIMIT $3",
            incident_id,
            after,
            limit,
        )
        return [_timeline_entry(r) for r in rows]

    async def latest_events(self, incident_id: UUID, limit: int) -> list[dict[str, Any]]:
        """The incident's last `limit` accepted events, oldest first (the console's incident page)."""
        rows = await self.pool.fetch(
            "SELECT * FROM (SELECT version, revision, event, hash FROM incident_events WHERE incident_id = $1"
            " ORDER BY version DESC LIMIT $2) AS latest ORDER BY version",
            incident_id,
            limit,
        )
        return [_timeline_entry(r) for r in rows]

    async def event_hash(self, incident_id: UUID, version: int) -> str | None:
        """The chain hash of the incident's event at `version`, None when there is none."""
        found: str | None = await self.pool.fetchval(
            "SELECT hash FROM incident_events WHERE incident_id = $1 AND version = $2", incident_id, version
        )
        return found

    async def list_incidents(self, query: IncidentQuery) -> tuple[list[Incident], Cursor | None]:
        """A page of incidents and the cursor after it (None on the last page)."""
        sql, args = query.sql()
        rows = await self.pool.fetch(sql, *args)
        items = [Incident.model_validate(r["state"]) for r in rows]
        more = len(rows) == query.limit
        return items, Cursor.after(query.sort, dict(rows[-1])) if more else None

    async def stored_events(self, incident_id: UUID, after: int = 0, limit: int | None = None) -> list[StoredEvent]:
        """The incident's accepted events after version `after` in stream order, as stored: at most `limit`."""
        rows = await self.pool.fetch(
            'SELECT version, revision, recorded_at, event, prev_hash, hash, partition, "offset", position'
            " FROM incident_events WHERE incident_id = $1 AND version > $2 ORDER BY version LIMIT $3",
            incident_id,
            after,
            limit,
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

    async def request_release(self, key: str, requested_by: str) -> int:
        """File a release request for the projector and wake it, in one transaction."""
        async with self.pool.acquire() as conn, conn.transaction():
            request_id: int = await conn.fetchval(
                "INSERT INTO release_requests (incident_key, requested_by) VALUES ($1, $2) RETURNING request_id",
                key,
                requested_by,
            )
            await conn.execute("SELECT pg_notify($1, $2)", RELEASE_CHANNEL, str(request_id))
        return request_id

    async def release_outcome(self, request_id: int) -> ReleaseRow | None:
        row = await self.pool.fetchrow(
            "SELECT outcome, detail, judged, accepted FROM release_requests WHERE request_id = $1", request_id
        )
        return ReleaseRow(**dict(row)) if row is not None and row["outcome"] is not None else None


def _timeline_entry(row: asyncpg.Record) -> dict[str, Any]:
    return {**row["event"], "version": row["version"], "revision": row["revision"], "hash": row["hash"]}
