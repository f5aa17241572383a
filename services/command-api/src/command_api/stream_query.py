"""The live stream of accepted events: positions, filters, and a listener that wakes waiting streams.

Positions are assigned by the projector under a row lock held to commit, so every committed position is
below every position still to commit: reading `position > last` never skips a row that commits later
(docs/decisions/0021). NOTIFY wakes the streams; a periodic re-check covers a lost notification.
"""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import structlog

from incidents_shared.db import Pool
from incidents_shared.readside import STREAM_CHANNEL, SWAP_CHANNEL

log = structlog.get_logger(__name__)
PAGE = 500
RECHECK_S = 1.0
HEARTBEAT_S = 15.0


class StreamHub:
    """One LISTEN connection per API process: wakes the streams, and renews the pool after a rebuild's swap."""

    def __init__(self, dsn: str, pool: Pool) -> None:
        self._dsn = dsn
        self._pool = pool
        self._expiring: asyncio.Task[None] | None = None  # kept referenced while it runs
        self._conn: asyncpg.Connection | None = None
        self._changed = asyncio.Event()

    async def start(self) -> None:
        try:
            self._conn = await asyncpg.connect(self._dsn, timeout=5)
            await self._conn.add_listener(STREAM_CHANNEL, self._notified)
            await self._conn.add_listener(SWAP_CHANNEL, self._swapped)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            log.warning("stream_listener_unavailable", error=repr(exc))  # streams fall back to re-checks

    async def stop(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()

    def _notified(self, conn: Any, pid: int, channel: str, payload: object) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _swapped(self, conn: Any, pid: int, channel: str, payload: object) -> None:
        """A rebuild swapped the tables: renew the pool's connections, whose statements name the old ones."""
        log.info("read_model_swapped", retired=payload)
        self._expiring = asyncio.get_running_loop().create_task(self._pool.expire_connections())

    def current(self) -> asyncio.Event:
        """Take this before reading, then wait on it: a notification in between still wakes the waiter."""
        return self._changed


@dataclass(frozen=True)
class StreamFilter:
    incident_id: Any = None
    priority: str | None = None
    types: list[str] = field(default_factory=list)

    def sql(self, after: int) -> tuple[str, list[Any]]:
        clauses: list[str] = ["e.position > $1"]
        args: list[Any] = [after]
        if self.incident_id is not None:
            args.append(self.incident_id)
            clauses.append(f"e.incident_id = ${len(args)}")
        if self.priority is not None:
            args.append(self.priority)
            clauses.append(f"i.priority = ${len(args)}")
        if self.types:
            args.append(self.types)
            clauses.append(f"e.type = ANY(${len(args)}::text[])")
        join = "JOIN incidents i USING (incident_id) " if self.priority is not None else ""
        return (
            f"SELECT e.position, e.type, e.version, e.revision, e.hash, e.event FROM incident_events e {join}"
            f"WHERE {' AND '.join(clauses)} ORDER BY e.position LIMIT {PAGE}",
            args,
        )


def sse(row: dict[str, Any]) -> str:
    data = {**row["event"], "version": row["version"], "revision": row["revision"], "hash": row["hash"]}
    return f"id: {row['position']}\nevent: {row['type']}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def live_position(pool: Pool) -> int:
    """The highest committed position: where a stream without Last-Event-ID starts."""
    position: int = await pool.fetchval("SELECT position FROM stream_counter")
    return position


async def follow(pool: Pool, hub: StreamHub, where: StreamFilter, after: int) -> AsyncIterator[str]:
    """Server-sent events after position `after`, forever; a comment line now and then keeps proxies open."""
    clock = asyncio.get_running_loop().time
    last_sent = clock()
    while True:
        woken = hub.current()
        sql, args = where.sql(after)
        rows = await pool.fetch(sql, *args)
        for row in rows:
            yield sse(dict(row))
            after = row["position"]
            last_sent = clock()
        if len(rows) == PAGE:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(woken.wait(), RECHECK_S)
        if clock() - last_sent >= HEARTBEAT_S:
            last_sent = clock()
            yield ": keep-alive\n\n"
