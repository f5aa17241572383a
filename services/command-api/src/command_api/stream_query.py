"""The live stream of accepted events: positions, filters, the read loop, and the wake-ups that drive it.

Positions are assigned by the projector under a row lock held to commit, so every committed position is
below every position still to commit: reading `position > last` never skips a row that commits later
(docs/decisions/0021). The process's listener wakes the streams on STREAM_CHANNEL (and after each reconnect,
when a notification may have been missed); a periodic re-check covers a dead connection not yet noticed.
"""

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

from incidents_shared.db import Pool

PAGE = 500
RECHECK_S = 1.0
HEARTBEAT_S = 15.0


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


class LiveStream:
    """Accepted events in stream order, as server-sent events, for every open stream of this process."""

    def __init__(self, pool: Pool, recheck_s: float = RECHECK_S, heartbeat_s: float = HEARTBEAT_S) -> None:
        self._pool, self.recheck_s, self.heartbeat_s = pool, recheck_s, heartbeat_s
        self._changed = asyncio.Event()

    def notified(self, payload: str | None) -> None:
        """The listener's callback: a batch committed (or the listener reconnected): every stream reads again."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def position(self) -> int:
        """The highest committed position: where a stream without Last-Event-ID starts."""
        position: int = await self._pool.fetchval("SELECT position FROM stream_counter")
        return position

    async def follow(self, where: StreamFilter, after: int) -> AsyncGenerator[str, None]:
        """Server-sent events after position `after`, forever; a comment line now and then keeps proxies open."""
        clock = asyncio.get_running_loop().time
        last_sent = clock()
        while True:
            woken = self._changed  # taken before reading: a notification in between still wakes this stream
            sql, args = where.sql(after)
            rows = await self._pool.fetch(sql, *args)
            for row in rows:
                yield sse(dict(row))
                after = row["position"]
                last_sent = clock()
            if len(rows) == PAGE:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), self.recheck_s)
            if clock() - last_sent >= self.heartbeat_s:
                last_sent = clock()
                yield ": keep-alive\n\n"
