"""Judging one polled batch of log records. Pure: the store loads what it needs and writes what it returns."""

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from incidents_shared.audit import GENESIS_DIGEST, next_digest
from incidents_shared.consumer import Record
from incidents_shared.domain.codec import GENESIS_HASH, canonical_bytes, decode
from incidents_shared.domain.errors import UndecodableEvent
from incidents_shared.domain.events import EventBase
from incidents_shared.domain.fold import Verdict, judge
from incidents_shared.domain.state import Incident


@dataclass(frozen=True)
class Decoded:
    """A record with its event, or with the reason it is poison."""

    record: Record
    event: EventBase | None
    error: str | None = None

    @property
    def key(self) -> str:
        return self.record.key or f"{self.record.partition}:{self.record.offset}"


@dataclass
class Known:
    """What the store knows before the batch: states, judged event ids and parked incidents."""

    states: dict[UUID, Incident]
    seen: set[UUID]
    parked: set[str]
    digests: dict[int, str] = field(default_factory=dict)  # running digest per partition (incidents_shared.audit)


@dataclass
class Outcome:
    states: dict[UUID, Incident] = field(default_factory=dict)
    # (event, verdict, prev_hash, partition, offset, canonical bytes)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    verdicts: list[tuple[Any, ...]] = field(default_factory=list)  # (event, verdict, partition, offset)
    dead_letters: list[tuple[Record, str]] = field(default_factory=list)
    parked_events: list[Record] = field(default_factory=list)
    next_offsets: dict[int, int] = field(default_factory=dict)
    digests: dict[int, str] = field(default_factory=dict)  # partitions whose digest moved

    @property
    def judged(self) -> list[Verdict]:
        return [row[1] for row in self.verdicts]


def decode_all(records: list[Record]) -> list[Decoded]:
    """Decode each record once; a record whose key is not its event's incident is poison too."""
    decoded = []
    for record in records:
        try:
            event = decode(record.value)
            if record.key is not None and str(event.incident_id) != record.key:
                raise UndecodableEvent(f"record key {record.key} is not the event's incident {event.incident_id}")
            decoded.append(Decoded(record, event))
        except UndecodableEvent as exc:
            decoded.append(Decoded(record, None, str(exc)))
    return decoded


def project(batch: list[Decoded], known: Known) -> Outcome:
    """Judge each record in log order, on the state left by the records before it."""
    out = Outcome()
    for item in batch:
        record, event = item.record, item.event
        out.next_offsets[record.partition] = record.offset + 1
        if item.key in known.parked:
            out.parked_events.append(record)
            continue
        if event is None:
            out.dead_letters.append((record, item.error or "undecodable"))
            known.parked.add(item.key)
            continue
        if event.event_id in known.seen:
            continue  # a duplicate: judged before, nothing to write
        state = known.states.get(event.incident_id)
        canonical = canonical_bytes(event)  # computed once: for the hash chain and for the stored event
        verdict, new_state = judge(state, event, seen=False, canonical=canonical)
        known.seen.add(event.event_id)
        out.verdicts.append((event, verdict, record.partition, record.offset))
        if verdict.accepted and new_state is not None:
            prev_hash = state.last_hash if state else GENESIS_HASH
            out.events.append((event, verdict, prev_hash, record.partition, record.offset, canonical))
            known.states[event.incident_id] = new_state
            out.states[event.incident_id] = new_state
            digest = next_digest(known.digests.get(record.partition, GENESIS_DIGEST), verdict.hash or "")
            known.digests[record.partition] = out.digests[record.partition] = digest
    return out
