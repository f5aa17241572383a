"""Queries against the projector's read models."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from incidents_shared.domain.state import Incident


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
        raw = await self.pool.fetchval("SELECT state FROM incidents WHERE incident_id = $1", incident_id)
        return Incident.model_validate(raw) if raw is not None else None

    async def verdict(self, event_id: UUID) -> VerdictRow | None:
        row = await self.pool.fetchrow(
            "SELECT event_id, incident_id, type, verdict, reason, version, revision, hash, request_hash,"
            ' partition, "offset", judged_at FROM event_verdicts WHERE event_id = $1',
            event_id,
        )
        return VerdictRow(**dict(row)) if row is not None else None

    async def timeline(self, incident_id: UUID) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT version, revision, event, hash FROM incident_events WHERE incident_id = $1 ORDER BY version",
            incident_id,
        )
        return [{**r["event"], "version": r["version"], "revision": r["revision"], "hash": r["hash"]} for r in rows]

    async def list_incidents(
        self, filters: dict[str, Any], limit: int, after: tuple[datetime, UUID] | None
    ) -> list[Incident]:
        clauses, args = [], []
        for column, value in filters.items():
            args.append(value)
            clauses.append(f"{column} = ${len(args)}")
        if after is not None:
            args.extend(after)
            clauses.append(f"(logged_at, incident_id) < (${len(args) - 1}, ${len(args)})")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        args.append(limit)
        rows = await self.pool.fetch(
            f"SELECT state FROM incidents {where} ORDER BY logged_at DESC, incident_id DESC LIMIT ${len(args)}",
            *args,
        )
        return [Incident.model_validate(r["state"]) for r in rows]
