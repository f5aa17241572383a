"""The real adapters of the projector's ports: the read model in PostgreSQL, the dead-letter topic in Kafka."""

from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from aiokafka import AIOKafkaProducer

from incidents_shared.audit import SigningKey
from incidents_shared.db import Conn, Pool
from incidents_shared.domain.record import Record
from incidents_shared.projection import store
from incidents_shared.projection.batch import Known, Outcome
from incidents_shared.reader_store import PostgresReaderStore


@dataclass
class PostgresBatch:
    """`ReadModelBatch` on one connection inside the batch's transaction."""

    conn: Conn
    group: str
    topic: str

    async def load_known(
        self, ids: set[UUID], event_ids: Iterable[UUID], keys: set[str], partitions: Iterable[int]
    ) -> Known:
        return await store.load_known(self.conn, ids, event_ids, keys, partitions)

    async def write(self, outcome: Outcome) -> None:
        await store.write(self.conn, outcome, self.group, self.topic)

    async def write_checkpoints(self, key: SigningKey, next_offsets: dict[int, int], digests: dict[int, str]) -> None:
        await store.write_checkpoints(self.conn, key, next_offsets, digests)


def postgres_read_model(pool: Pool, group: str, topic: str) -> PostgresReaderStore[PostgresBatch]:
    """`ReadModel`: the read-model tables and the group's offsets, each batch under the shared read-model lock."""
    return PostgresReaderStore(pool, group, topic, store.lock_shared, PostgresBatch)


@dataclass
class KafkaDeadLetters:
    """`DeadLetters`: the dead-letter topic, keyed like the log, with the error and the record's place as headers."""

    producer: AIOKafkaProducer
    topic: str

    async def send(self, record: Record, error: str) -> None:
        headers = [
            ("error", error[:1000].encode()),
            ("partition", str(record.partition).encode()),
            ("offset", str(record.offset).encode()),
        ]
        key = record.key.encode() if record.key else None
        await self.producer.send_and_wait(self.topic, record.value, key=key, headers=headers)
