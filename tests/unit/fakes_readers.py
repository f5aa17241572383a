"""In-memory fakes of the log readers' ports (projector.ports, escalator.ports), for the handlers' unit tests,
and the two ends of the log they read: `FakeWriter` decides commands into events, `FakeLog` hands out records.

Each fake store keeps its tables as plain data. A batch works on a copy of them: a clean exit commits the copy, an
exception drops it, as the real transaction rolls back. Opening a batch claims the offsets the way
`incidents_shared.offsets.claim_offsets` does: a batch that does not start where the stored offsets stand is
fenced with `OffsetsMoved`. Writes follow the real SQL's conflict rules (ON CONFLICT DO NOTHING, upserts, a
verdict's primary key, a fired timer never re-armed), so what a test reads back is what PostgreSQL would hold.
"""

import copy
import itertools
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar
from uuid import UUID, uuid5

from incidents_shared.domain import commands as c
from incidents_shared.domain.codec import canonical_bytes
from incidents_shared.domain.decide import decide
from incidents_shared.domain.enums import Role
from incidents_shared.domain.escalation import fold
from incidents_shared.domain.escalation.recipients import Delivery
from incidents_shared.domain.escalation.timers import Timer
from incidents_shared.domain.events import EventBase
from incidents_shared.domain.fold import Verdict
from incidents_shared.domain.record import Record
from incidents_shared.domain.state import Incident
from incidents_shared.offsets import OffsetsMoved, first_offsets
from incidents_shared.projection import batch as projection
from tests.unit.builders import NAMESPACE, actor, apply, at


class StoreFailed(Exception):
    """What a fake store raises when a test told it to fail (the database went away mid-batch, say)."""


class FakeWriter:
    """Decides commands as the command API would, per incident, so that tests log valid histories."""

    def __init__(self) -> None:
        self.states: dict[UUID, Incident | None] = {}
        self._commands = itertools.count()

    def __call__(self, incident_id: UUID, *commands: c.Command) -> list[EventBase]:
        events: list[EventBase] = []
        for command in commands:
            n = next(self._commands)
            meta = c.CommandMeta(incident_id, uuid5(NAMESPACE, f"reader-{n}"), actor(Role.MANAGER), at(n), f"corr-{n}")
            decided = decide(self.states.get(incident_id), command, meta)
            self.states[incident_id] = apply(self.states.get(incident_id), decided)
            events += decided
        return events


class FakeLog:
    """Hands out the records a consumer would poll: each event's canonical bytes, keyed by its incident."""

    def __init__(self) -> None:
        self.next_offset: dict[int, int] = {}

    def records(self, *events: EventBase, partition: int = 0) -> list[Record]:
        return [self.record(canonical_bytes(e), str(e.incident_id), partition) for e in events]

    def record(self, value: bytes, key: str | None, partition: int = 0) -> Record:
        offset = self.next_offset.get(partition, 0)
        self.next_offset[partition] = offset + 1
        return Record(partition, offset, key, value)


class _HasOffsets(Protocol):
    offsets: dict[int, int]


TablesT = TypeVar("TablesT", bound=_HasOffsets)


class _Transactional(Generic[TablesT]):
    """Committed tables, a batch's copy of them, the offsets claim, and a failure a test can arm."""

    def __init__(self, tables: TablesT) -> None:
        self.committed = tables
        self.commits = 0
        self.fail_write: Exception | None = None  # raised by the next write, once

    async def load_offsets(self) -> dict[int, int]:
        return dict(self.committed.offsets)

    @asynccontextmanager
    async def transaction(self, records: list[Record]) -> AsyncIterator[TablesT]:
        stored = self.committed.offsets
        first = first_offsets(records)
        if moved := {p: (stored.get(p, 0), o) for p, o in first.items() if stored.get(p, 0) != o}:
            raise OffsetsMoved(moved)
        working = copy.deepcopy(self.committed)
        yield working  # an exception in the batch propagates from here: the copy is dropped
        self.committed = working
        self.commits += 1

    def check_failure(self) -> None:
        """Raise the failure a test armed, once (the writes call it after writing, before the commit)."""
        if (failure := self.fail_write) is not None:
            self.fail_write = None
            raise failure


# The projector's read model.


@dataclass
class ReadModelTables:
    incidents: dict[UUID, Incident] = field(default_factory=dict)
    verdicts: dict[UUID, Verdict] = field(default_factory=dict)  # event_verdicts, keyed by its primary key
    events: list[EventBase] = field(default_factory=list)  # incident_events in stream order
    dead_letters: dict[tuple[int, int], str] = field(default_factory=dict)  # (partition, offset) -> error
    parked: dict[str, tuple[int, int]] = field(default_factory=dict)  # parked_incidents: key -> poison's place
    parked_events: dict[tuple[int, int], str] = field(default_factory=dict)  # held records -> their key
    offsets: dict[int, int] = field(default_factory=dict)
    digests: dict[int, str] = field(default_factory=dict)
    checkpoints: list[tuple[int, int, str]] = field(default_factory=list)  # (partition, next offset, digest)


@dataclass
class FakeReadModelBatch:
    """`projector.ports.ReadModelBatch` on a batch's copy of the tables."""

    tables: ReadModelTables
    owner: "FakeReadModel"

    async def load_known(
        self, ids: set[UUID], event_ids: Iterable[UUID], keys: set[str], partitions: Iterable[int]
    ) -> projection.Known:
        t = self.tables
        return projection.Known(
            states={i: t.incidents[i] for i in ids if i in t.incidents},
            seen={i for i in event_ids if i in t.verdicts},
            parked=keys & t.parked.keys(),
            digests={p: t.digests[p] for p in partitions if p in t.digests},
        )

    async def write(self, outcome: projection.Outcome) -> None:
        t = self.tables
        t.offsets |= outcome.next_offsets
        t.digests |= outcome.digests
        for event, verdict, *_ in outcome.verdicts:
            if event.event_id in t.verdicts:
                raise StoreFailed(f"duplicate key: event_verdicts {event.event_id}")  # the primary key
            t.verdicts[event.event_id] = verdict
        t.incidents |= outcome.states
        for record, error in outcome.dead_letters:
            t.dead_letters.setdefault((record.partition, record.offset), error)
            t.parked.setdefault(record.incident_key, (record.partition, record.offset))
        for record in outcome.parked_events:
            t.parked_events.setdefault((record.partition, record.offset), record.incident_key)
        t.events += [row[0] for row in outcome.events]
        self.owner.check_failure()  # halfway through the batch, say: what it wrote so far must not stay

    async def write_checkpoints(self, key: object, next_offsets: dict[int, int], digests: dict[int, str]) -> None:
        self.tables.checkpoints += [(p, o, digests.get(p, "")) for p, o in next_offsets.items()]


class FakeReadModel(_Transactional[ReadModelTables]):
    """`projector.ports.ReadModel`: the read-model tables and the projector group's offsets, in memory."""

    def __init__(self) -> None:
        super().__init__(ReadModelTables())

    @asynccontextmanager
    async def batch(self, records: list[Record]) -> AsyncIterator[FakeReadModelBatch]:
        async with self.transaction(records) as tables:
            yield FakeReadModelBatch(tables, self)


@dataclass
class FakeDeadLetters:
    """`projector.ports.DeadLetters`: what was sent to the dead-letter topic, in order."""

    sent: list[tuple[Record, str]] = field(default_factory=list)

    async def send(self, record: Record, error: str) -> None:
        self.sent.append((record, error))


# The escalator's fold, timers and outbox.

PENDING, CANCELLED, FIRED, DRILL = "pending", "cancelled", "fired", "drill"


@dataclass
class FoldTables:
    states: dict[UUID, Incident] = field(default_factory=dict)
    seen: set[UUID] = field(default_factory=set)
    parked: dict[str, tuple[int, int]] = field(default_factory=dict)
    timers: dict[UUID, tuple[Timer, str]] = field(default_factory=dict)  # timer id -> (timer, status)
    outbox: dict[UUID, tuple[Delivery, str]] = field(default_factory=dict)  # delivery id -> (delivery, status)
    offsets: dict[int, int] = field(default_factory=dict)

    def timers_with(self, status: str) -> list[Timer]:
        return [timer for timer, s in self.timers.values() if s == status]


@dataclass
class FakeFoldBatch:
    """`escalator.ports.FoldBatch` on a batch's copy of the tables."""

    tables: FoldTables
    owner: "FakeFoldStore"

    async def load_known(self, ids: set[UUID], event_ids: set[UUID], keys: set[str]) -> fold.Known:
        t = self.tables
        states = {i: t.states[i] for i in ids if i in t.states}
        return fold.Known(states=states, seen=event_ids & t.seen, parked=keys & t.parked.keys())

    async def write(self, outcome: fold.Outcome) -> None:
        t = self.tables
        for key, place in outcome.parked.items():
            t.parked.setdefault(key, place)
        t.seen |= set(outcome.judged)
        t.states |= outcome.states
        for timer_id, (timer, status) in list(t.timers.items()):
            if status == PENDING and (timer.incident_id, timer.kind) in outcome.cancel:
                t.timers[timer_id] = (timer, CANCELLED)
        for timer in outcome.arm.values():
            if t.timers.get(timer.timer_id, (timer, CANCELLED))[1] == CANCELLED:  # a fired timer never re-arms
                t.timers[timer.timer_id] = (timer, PENDING)
        for delivery in outcome.deliveries:
            t.outbox.setdefault(delivery.delivery_id, (delivery, DRILL if delivery.drill else PENDING))
        t.offsets |= outcome.next_offsets
        self.owner.check_failure()


class FakeFoldStore(_Transactional[FoldTables]):
    """`escalator.ports.FoldStore`: the escalator's tables and its group's offsets, in memory."""

    def __init__(self) -> None:
        super().__init__(FoldTables())

    @asynccontextmanager
    async def batch(self, records: list[Record]) -> AsyncIterator[FakeFoldBatch]:
        async with self.transaction(records) as tables:
            yield FakeFoldBatch(tables, self)

    def fire(self, timer: Timer) -> None:
        """What the timer loop does once it appended the timer's event: the timer is spent."""
        self.committed.timers[timer.timer_id] = (timer, FIRED)
