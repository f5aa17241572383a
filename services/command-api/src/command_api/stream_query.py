"""The live stream of accepted events: positions, filters, the shared read, and the wake-ups that drive it.

Positions are assigned by the projector under a row lock held to commit, so every committed position is
below every position still to commit: reading `position > last` never skips a row that commits later
(docs/decisions/0021). The process's listener wakes the streams on STREAM_CHANNEL (and after each reconnect,
when a notification may have been missed); a periodic re-check covers a dead connection not yet noticed.

One read per wake-up per process, whatever the number of streams (docs/decisions/0092): the first stream that
wakes reads every new row once, unfiltered, into a short buffer of recent rows with their text already
formatted, and every stream filters that buffer. A stream that starts (or falls) behind the buffer reads its
own filtered pages up to the buffer's head, then joins it.
"""

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter

from incidents_shared.db import Pool

PAGE = 500
RECHECK_S = 1.0
HEARTBEAT_S = 15.0
BUFFER_ROWS = 5_000  # recent rows kept for the streams; one further behind reads its own pages
COLUMNS = "e.position, e.type, e.version, e.revision, e.hash, e.event"
SHARED_SQL = (
    f"SELECT {COLUMNS}, e.incident_id, i.priority FROM incident_events e "
    f"LEFT JOIN incidents i USING (incident_id) WHERE e.position > $1 ORDER BY e.position LIMIT {PAGE}"
)
READS = Counter("api_stream_reads_total", "Statements the live streams ran", ["kind"])


@dataclass(frozen=True)
class Tail:
    """A recent row of the log, as every stream may send it."""

    position: int
    type: str
    incident_id: str
    priority: str | None
    text: str


@dataclass(frozen=True)
class StreamFilter:
    incident_id: Any = None
    priority: str | None = None
    types: list[str] = field(default_factory=list)

    def sql(self, after: int, upto: int | None = None) -> tuple[str, list[Any]]:
        clauses: list[str] = ["e.position > $1"]
        args: list[Any] = [after]
        if upto is not None:
            args.append(upto)
            clauses.append(f"e.position <= ${len(args)}")
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
            f"SELECT {COLUMNS} FROM incident_events e {join}"
            f"WHERE {' AND '.join(clauses)} ORDER BY e.position LIMIT {PAGE}",
            args,
        )

    def matches(self, tail: Tail) -> bool:
        if self.incident_id is not None and tail.incident_id != str(self.incident_id):
            return False
        if self.priority is not None and tail.priority != self.priority:
            return False
        return not self.types or tail.type in self.types


def sse(row: dict[str, Any]) -> str:
    data = {**row["event"], "version": row["version"], "revision": row["revision"], "hash": row["hash"]}
    return f"id: {row['position']}\nevent: {row['type']}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _tail(row: dict[str, Any]) -> Tail:
    return Tail(row["position"], row["type"], str(row["incident_id"]), row["priority"], sse(row))


class LiveStream:
    """Accepted events in stream order, as server-sent events, for every open stream of this process."""

    def __init__(
        self, pool: Pool, recheck_s: float = RECHECK_S, heartbeat_s: float = HEARTBEAT_S, keep: int = BUFFER_ROWS
    ) -> None:
        self._pool, self.recheck_s, self.heartbeat_s = pool, recheck_s, heartbeat_s
        self._changed = asyncio.Event()
        self._rows: deque[Tail] = deque(maxlen=keep)
        self._floor = self._head = -1  # the buffer holds the rows in (floor, head]; -1: not read yet
        self._wanted = self._done = 0  # wake-ups asked for, and the last one a shared read answered
        self._read_at = 0.0
        self._full = False  # the last shared read filled a page: more rows wait
        self._lock = asyncio.Lock()
        self.followers = 0  # streams open on this process

    def notified(self, payload: str | None) -> None:
        """The listener's callback: a batch committed (or the listener reconnected): read once, wake every stream."""
        self._wanted += 1
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def position(self) -> int:
        """The highest committed position: where a stream without Last-Event-ID starts."""
        position: int = await self._pool.fetchval("SELECT position FROM stream_counter")
        return position

    async def follow(self, where: StreamFilter, after: int) -> AsyncGenerator[str, None]:
        """Server-sent events after position `after`, forever; a comment line now and then keeps proxies open."""
        if not self.followers:  # nobody kept the buffer current: start it again at the head, not where it was
            self._head, self._full = -1, False
            self._rows.clear()
        self.followers += 1
        events = self._follow(where, after)
        try:
            async for chunk in events:
                yield chunk
        finally:
            self.followers -= 1
            await events.aclose()

    async def _follow(self, where: StreamFilter, after: int) -> AsyncGenerator[str, None]:
        clock = asyncio.get_running_loop().time
        last_sent = clock()
        while True:
            woken = self._changed  # taken before reading: a notification in between still wakes this stream
            await self._refresh()
            if after < self._floor:  # behind the buffer: this stream's own page, up to the buffer's head
                head = self._head
                rows = await self._own_page(where, after, head)
                for row in rows:
                    yield sse(dict(row))
                    last_sent = clock()
                after = rows[-1]["position"] if len(rows) == PAGE else max(after, head)
                continue
            for tail in self._since(after):
                if where.matches(tail):
                    yield tail.text
                    last_sent = clock()
            after = max(after, self._head)
            if self._full:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), self.recheck_s)
            if clock() - last_sent >= self.heartbeat_s:
                last_sent = clock()
                yield ": keep-alive\n\n"

    def _since(self, after: int) -> list[Tail]:
        """The buffered rows after `after` (copied: the buffer may change while a stream sends them)."""
        newer: list[Tail] = []
        for tail in reversed(self._rows):
            if tail.position <= after:
                break
            newer.append(tail)
        newer.reverse()
        return newer

    async def _own_page(self, where: StreamFilter, after: int, upto: int) -> list[Any]:
        READS.labels("catch_up").inc()
        sql, args = where.sql(after, upto)
        return list(await self._pool.fetch(sql, *args))

    async def _refresh(self) -> None:
        """Make sure one shared read answered the latest wake-up (or a re-check is due): the first stream to ask
        reads, the others wait for it and share its rows."""
        if asyncio.get_running_loop().time() - self._read_at >= self.recheck_s:
            self._wanted += 1
        if self._done >= self._wanted and not self._full and self._head >= 0:
            return
        async with self._lock:
            wanted = self._wanted
            if self._done >= wanted and not self._full and self._head >= 0:
                return
            self._read_at = asyncio.get_running_loop().time()
            found = await self._read()
            self._done = max(self._done, wanted)
        if found:
            self._wake()

    async def _read(self) -> bool:
        if self._head < 0:
            READS.labels("start").inc()
            self._floor = self._head = await self.position()
            self._full = False
            return False
        READS.labels("shared").inc()
        rows = [_tail(dict(r)) for r in await self._pool.fetch(SHARED_SQL, self._head)]
        for tail in rows:
            if len(self._rows) == self._rows.maxlen:
                self._floor = self._rows[0].position
            self._rows.append(tail)
        if rows:
            self._head = rows[-1].position
        self._full = len(rows) == PAGE
        return bool(rows)
