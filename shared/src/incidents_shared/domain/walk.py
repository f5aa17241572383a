"""The one walk of the log: each record judged in log order on the state the records before it left. Pure.

Every reader (the projector, the escalator, the simulator, the invariant checker) folds the log with `walk`, so
they reach the same verdicts and park the same incidents: a record that cannot be decoded, or whose key is not its
event's incident, is poison and parks its key; every later record with that key is held, judged by nobody, until
an operator releases it (docs/decisions/0006, 0023).
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from uuid import UUID

from incidents_shared.domain.codec import canonical_bytes, decode
from incidents_shared.domain.errors import UndecodableEvent
from incidents_shared.domain.events import EventBase
from incidents_shared.domain.fold import Verdict, VerdictKind, judge
from incidents_shared.domain.record import Record
from incidents_shared.domain.state import Incident


@dataclass(slots=True)  # not frozen: a frozen dataclass costs a microsecond more per record to build
class Decoded:
    """A record with its event, or with the reason it is poison."""

    record: Record
    event: EventBase | None
    error: str | None = None


def decode_record(record: Record) -> Decoded:
    """Decode one record; a record whose key is not its event's incident is poison too."""
    try:
        event = decode(record.value)
    except UndecodableEvent as exc:
        return Decoded(record, None, str(exc))
    if record.key is not None and str(event.incident_id) != record.key:
        return Decoded(record, event, f"record key {record.key} is not the event's incident {event.incident_id}")
    return Decoded(record, event)


def decode_records(records: Iterable[Record]) -> list[Decoded]:
    return [decode_record(record) for record in records]


# The poison reason of a record that decodes but that a reader's store refuses whatever is retried: the reader
# parks it like an undecodable one (incidents_shared.consumer), and an oracle replaying the log takes that from
# the reader's dead letters (it cannot know what PostgreSQL would refuse).
STORE_REFUSED = "the store refused this record"


def refused_by_store(decoded: Decoded, error: str) -> Decoded:
    """The record as poison: its store refused it (`error` starts with STORE_REFUSED)."""
    return Decoded(decoded.record, decoded.event, decoded.error or error)


def events_of(batch: Iterable[Decoded]) -> list[EventBase]:
    """The decodable events of a batch: what a store loads states and judged ids for."""
    return [item.event for item in batch if item.event is not None and item.error is None]


@dataclass
class Known:
    """What a reader knows before the records it walks: states, judged event ids and parked keys. Updated in place."""

    states: dict[UUID, Incident] = field(default_factory=dict)
    seen: set[UUID] = field(default_factory=set)
    parked: set[str] = field(default_factory=set)


@dataclass(slots=True)  # not frozen, like Decoded: one per record on every reader's hot path
class Step:
    """What one record did: held behind a poison record, poison itself (`poison` says why), or judged."""

    record: Record
    event: EventBase | None = None
    verdict: Verdict | None = None
    before: Incident | None = None
    after: Incident | None = None
    canonical: bytes | None = None  # the accepted event's canonical bytes (hash chain, stored event)
    poison: str | None = None
    held: bool = False

    @property
    def accepted(self) -> bool:
        return self.verdict is not None and self.verdict.accepted

    @property
    def judged(self) -> bool:
        """Judged at this place for the first time (a duplicate of an earlier judged event is not)."""
        return self.verdict is not None and self.verdict.kind is not VerdictKind.DUPLICATE


def walk(batch: Iterable[Decoded], known: Known) -> Iterator[Step]:
    """Judge each decoded record in log order; `known` moves with every step (states, seen, parked)."""
    for item in batch:
        record, event = item.record, item.event
        key = record.incident_key
        if key in known.parked:
            yield Step(record, event, held=True)
            continue
        if event is None or item.error is not None:
            known.parked.add(key)
            yield Step(record, event, poison=item.error or "undecodable")
            continue
        if event.event_id in known.seen:
            state = known.states.get(event.incident_id)
            verdict, _ = judge(state, event, seen=True)
            yield Step(record, event, verdict, state, state)
            continue
        before = known.states.get(event.incident_id)
        canonical = canonical_bytes(event)
        verdict, after = judge(before, event, seen=False, canonical=canonical)
        known.seen.add(event.event_id)
        if verdict.accepted and after is not None:
            known.states[event.incident_id] = after
            yield Step(record, event, verdict, before, after, canonical)
        else:
            yield Step(record, event, verdict, before, before)


def walk_records(records: Iterable[Record], known: Known) -> Iterator[Step]:
    """Decode and walk: for readers that need no store between the two."""
    return walk(decode_records(records), known)
