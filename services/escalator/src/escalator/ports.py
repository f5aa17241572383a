"""The port of the escalator's batch handler: its fold store, one unit of work per batch.

The composition root (main.py) wires the real adapter (escalator.adapters); the unit tests wire an
in-memory fake (tests/unit/fakes_readers.py). Nothing here imports an I/O library.
"""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol
from uuid import UUID

from incidents_shared.domain.escalation.fold import Known, Outcome
from incidents_shared.domain.escalation.people import People
from incidents_shared.domain.record import Record

PeopleNow = Callable[[], People]  # the directory as folded so far, each time it is asked (escalator.people)


class FoldBatch(Protocol):
    """One batch's unit of work on the escalator's fold: what it reads and writes lands in one transaction."""

    async def load_known(self, ids: set[UUID], event_ids: set[UUID], keys: set[str]) -> Known:
        """The escalator's states of these incidents, which of these events it judged, which keys it parked."""

    async def write(self, outcome: Outcome) -> None:
        """States, judged ids, parking, timers armed and cancelled, deliveries queued, and the offsets after it."""


class FoldStore(Protocol):
    """The escalator's fold, timers and outbox, and where its consumer group stands in the log."""

    async def load_offsets(self) -> dict[int, int]:
        """The next offset to read per partition."""

    def batch(self, records: list[Record]) -> AbstractAsyncContextManager[FoldBatch]:
        """Open the batch's unit of work: shared fold lock, offsets claimed (raises `OffsetsMoved` when another
        consumer moved them), committed on a clean exit and rolled back on an exception."""
