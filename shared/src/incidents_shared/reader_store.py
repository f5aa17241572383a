"""A log reader's store in PostgreSQL: where its consumer group stands, and one transaction per batch.

Every batch of a reader (the projector, the escalator) runs the same way: acquire a connection, open the
transaction, hold the reader's advisory lock shared (a release or a swap takes it exclusively), claim the batch's
offsets (`OffsetsMoved` fences a zombie consumer), and commit with the offsets on a clean exit. What the batch
reads and writes on that connection is the reader's own adapter (`open_batch`).
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

from incidents_shared.db import Conn, Pool
from incidents_shared.domain.record import Record
from incidents_shared.offsets import claim_offsets, first_offsets, load_offsets

BatchT = TypeVar("BatchT")


@dataclass
class PostgresReaderStore(Generic[BatchT]):
    pool: Pool
    group: str
    topic: str
    lock_shared: Callable[[Conn], Awaitable[None]]
    open_batch: Callable[[Conn, str, str], BatchT]  # (conn, group, topic) -> the reader's unit of work

    async def load_offsets(self) -> dict[int, int]:
        """The next offset to read per partition for the group."""
        async with self.pool.acquire() as conn:
            return await load_offsets(conn, self.group, self.topic)

    @asynccontextmanager
    async def batch(self, records: list[Record]) -> AsyncIterator[BatchT]:
        """The batch's transaction, locked and with its offsets claimed; commits on a clean exit."""
        async with self.pool.acquire() as conn, conn.transaction():
            await self.lock_shared(conn)
            await claim_offsets(conn, self.group, self.topic, first_offsets(records))
            yield self.open_batch(conn, self.group, self.topic)
