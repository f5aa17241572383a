"""Heartbeats in PostgreSQL (migration 0015): the last ping of each (`heartbeat_pings`, one upsert per ping) and
their outages (`heartbeat_outages`, each claimed once by its primary key)."""

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from uuid import UUID

from command_api.heartbeat_service import PingRow
from command_api.heartbeat_watch import Outage
from incidents_shared.db import Conn, Pool

_PING = """
INSERT INTO heartbeat_pings (name, first_ping_at, last_ping_at) VALUES ($1, $2, $2)
ON CONFLICT (name) DO UPDATE SET last_ping_at = GREATEST(heartbeat_pings.last_ping_at, EXCLUDED.last_ping_at),
                                 pings = heartbeat_pings.pings + 1
RETURNING last_ping_at, pings
"""
# Claimed unless claimed already (the key) or a ping came after `since` (read now, not at the tick's start).
_CLAIM = """
INSERT INTO heartbeat_outages (name, since, down_at, opened_at)
SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM heartbeat_pings WHERE name = $1 AND last_ping_at > $2)
ON CONFLICT (name, since) DO NOTHING RETURNING name
"""
_RECOVER = """
UPDATE heartbeat_outages SET recovered_at = $3, recovery = $4
WHERE name = $1 AND since = $2 AND recovered_at IS NULL RETURNING name
"""


class Claimed:
    def __init__(self, conn: Conn, outage: Outage) -> None:
        self._conn, self._outage = conn, outage

    async def opened(self, outcome: str, incident_id: UUID | None) -> None:
        await self._conn.execute(
            "UPDATE heartbeat_outages SET outcome = $3, incident_id = $4 WHERE name = $1 AND since = $2",
            self._outage.name, self._outage.since, outcome, incident_id,
        )  # fmt: skip


class PgHeartbeats:
    """The `HeartbeatStore` of pings and the `OutageClaims` of the watcher."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def ping(self, name: str, at: datetime) -> PingRow:
        row = await self._pool.fetchrow(_PING, name, at)
        assert row is not None, "an upsert returns its row"
        return PingRow(row["last_ping_at"], row["pings"])

    async def ping_of(self, name: str) -> PingRow | None:
        row = await self._pool.fetchrow("SELECT last_ping_at, pings FROM heartbeat_pings WHERE name = $1", name)
        return PingRow(row["last_ping_at"], row["pings"]) if row is not None else None

    async def last_pings(self) -> dict[str, PingRow]:
        rows = await self._pool.fetch("SELECT name, last_ping_at, pings FROM heartbeat_pings")
        return {row["name"]: PingRow(row["last_ping_at"], row["pings"]) for row in rows}

    async def open_outages(self) -> dict[str, Outage]:
        rows = await self._pool.fetch("SELECT name, since, down_at FROM heartbeat_outages WHERE recovered_at IS NULL")
        return {row["name"]: Outage(row["name"], row["since"], row["down_at"]) for row in rows}

    @contextlib.asynccontextmanager
    async def claim(self, outage: Outage, at: datetime) -> AsyncIterator[Claimed | None]:
        async with self._pool.acquire() as conn, conn.transaction():
            won = await conn.fetchval(_CLAIM, outage.name, outage.since, outage.down_at, at)
            yield Claimed(conn, outage) if won is not None else None

    @contextlib.asynccontextmanager
    async def recovering(self, outage: Outage, at: datetime, how: str) -> AsyncIterator[bool]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield await conn.fetchval(_RECOVER, outage.name, outage.since, at, how) is not None
