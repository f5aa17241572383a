"""This escalator's claims on outbox rows: session advisory locks held on one connection of its own while it
delivers a row or appends its outcome (decision 0096).

Another escalator that believes it owns the row's partition (a rebalance under way, a paused process back from
SIGSTOP) cannot claim it meanwhile and skips it. The locks live as long as the connection: a process that dies
loses them at once, so its rows are delivered by the next owner without waiting for a lease to run out.
"""

from __future__ import annotations

import asyncio
import contextlib
from uuid import UUID

import asyncpg
import structlog
from asyncpg.pool import PoolConnectionProxy

from escalator import store
from incidents_shared.db import DATABASE_ERRORS, Pool

log = structlog.get_logger(__name__)


class Claims:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self._conn: PoolConnectionProxy[asyncpg.Record] | None = None
        self._lock = asyncio.Lock()  # one connection: one query at a time

    async def take(self, ids: list[UUID], statuses: list[str]) -> set[UUID]:
        """The ids claimed now, among those still in one of `statuses` once claimed."""
        if not ids:
            return set()
        async with self._lock:
            conn = await self._connection()
            try:
                held = await store.try_claim(conn, ids)
                if not held:
                    return set()
                live = await store.still_in(conn, list(held), statuses)
                if held - live:  # finished by another escalator between our read and our claim
                    await store.release_claims(conn, list(held - live))
                return live
            except DATABASE_ERRORS:
                await self._drop()
                raise

    async def release(self, ids: list[UUID]) -> None:
        async with self._lock:
            if self._conn is None:
                return  # the connection went: its locks went with it
            try:
                await store.release_claims(self._conn, ids)
            except DATABASE_ERRORS as exc:
                log.warning("outbox_claims_connection_lost", error=repr(exc))
                await self._drop()

    async def close(self) -> None:
        async with self._lock:
            await self._drop()

    async def _connection(self) -> PoolConnectionProxy[asyncpg.Record]:
        if self._conn is None:
            self._conn = await self.pool.acquire()
        return self._conn

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(*DATABASE_ERRORS):
                await self.pool.release(conn)
