"""The real adapter of the escalator handler's port: its fold, timers and outbox in PostgreSQL (escalator.store)."""

from dataclasses import dataclass
from uuid import UUID

from escalator import store
from incidents_shared.db import Conn, Pool
from incidents_shared.domain.escalation.fold import Known, Outcome
from incidents_shared.reader_store import PostgresReaderStore


@dataclass
class PostgresFoldBatch:
    """`FoldBatch` on one connection inside the batch's transaction."""

    conn: Conn
    group: str
    topic: str

    async def load_known(self, ids: set[UUID], event_ids: set[UUID], keys: set[str]) -> Known:
        return await store.load_known(self.conn, ids, event_ids, keys)

    async def write(self, outcome: Outcome) -> None:
        await store.write(self.conn, outcome, self.group, self.topic)


def postgres_fold_store(pool: Pool, group: str, topic: str) -> PostgresReaderStore[PostgresFoldBatch]:
    """`FoldStore`: the escalator's tables and its group's offsets, each batch under the shared fold lock."""
    return PostgresReaderStore(pool, group, topic, store.lock_shared, PostgresFoldBatch)
