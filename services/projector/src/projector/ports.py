"""The ports of the projector's batch handler: the read model (one unit of work per batch) and the dead letters.

The composition root (main.py) wires the real adapters (projector.adapters: PostgreSQL, Kafka); the unit tests
wire in-memory fakes (tests/unit/fakes_readers.py). Nothing here imports an I/O library.
"""

from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager
from typing import Protocol
from uuid import UUID

from incidents_shared.audit import SigningKey
from incidents_shared.domain.record import Record
from incidents_shared.projection.batch import Known, Outcome


class ReadModelBatch(Protocol):
    """One batch's unit of work on the read model: what it reads and writes lands in one transaction."""

    async def load_known(
        self, ids: set[UUID], event_ids: Iterable[UUID], keys: set[str], partitions: Iterable[int]
    ) -> Known:
        """States, judged ids and parked keys the batch needs, and the digests of its partitions."""

    async def write(self, outcome: Outcome) -> None:
        """The batch's verdicts, events, states, parking and digests, with the offsets after it."""

    async def write_checkpoints(self, key: SigningKey, next_offsets: dict[int, int], digests: dict[int, str]) -> None:
        """Signed checkpoints of where each partition's digest stands, chained to the previous (after `write`)."""


class ReadModel(Protocol):
    """The read model a consumer group projects into, and where that group stands in the log."""

    async def load_offsets(self) -> dict[int, int]:
        """The next offset to read per partition."""

    def batch(self, records: list[Record]) -> AbstractAsyncContextManager[ReadModelBatch]:
        """Open the batch's unit of work: shared read-model lock, offsets claimed (raises `OffsetsMoved` when
        another consumer moved them), committed on a clean exit and rolled back on an exception."""


class DeadLetters(Protocol):
    """Where poison records go for an operator to look at."""

    async def send(self, record: Record, error: str) -> None:
        """Send the record with why it is poison; returns once the log acknowledged it."""
