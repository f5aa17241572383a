"""Folding one polled batch: the shared verdicts, then the escalator's reactions, netted per batch. Pure."""

from dataclasses import dataclass, field
from uuid import UUID

import structlog

from escalator.notify import Delivery
from escalator.policies import PolicyBook
from escalator.reactions import react
from escalator.timers import Timer, TimerKind
from incidents_shared.consumer import Record
from incidents_shared.domain.codec import decode
from incidents_shared.domain.errors import UndecodableEvent
from incidents_shared.domain.events import EventBase
from incidents_shared.domain.fold import VerdictKind, judge
from incidents_shared.domain.state import Incident

log = structlog.get_logger(__name__)


@dataclass
class Known:
    """What the store knows before the batch: the escalator's states and the event ids it already judged."""

    states: dict[UUID, Incident]
    seen: set[UUID]
    parked: set[str] = field(default_factory=set)  # incident keys behind a poison record


@dataclass
class Outcome:
    states: dict[UUID, Incident] = field(default_factory=dict)
    judged: list[UUID] = field(default_factory=list)
    cancel: set[tuple[UUID, TimerKind]] = field(default_factory=set)  # of timers armed before this batch
    arm: dict[UUID, Timer] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    next_offsets: dict[int, int] = field(default_factory=dict)
    parked: dict[str, tuple[int, int]] = field(default_factory=dict)  # newly parked key -> (partition, offset)

    def apply_cancel(self, incident_id: UUID, kinds: frozenset[TimerKind]) -> None:
        self.cancel |= {(incident_id, kind) for kind in kinds}
        self.arm = {tid: t for tid, t in self.arm.items() if not (t.incident_id == incident_id and t.kind in kinds)}


def decode_batch(records: list[Record]) -> list[tuple[Record, EventBase | None]]:
    decoded: list[tuple[Record, EventBase | None]] = []
    for record in records:
        try:
            decoded.append((record, decode(record.value)))
        except UndecodableEvent as exc:
            # The projector parks the incident and dead-letters the record; the escalator only skips it.
            log.warning("poison_event_skipped", partition=record.partition, offset=record.offset, error=str(exc))
            decoded.append((record, None))
    return decoded


def fold_batch(batch: list[tuple[Record, EventBase | None]], known: Known, book: PolicyBook) -> Outcome:
    """Judge each event in log order like every reader, and react to the accepted ones."""
    out = Outcome()
    for record, event in batch:
        out.next_offsets[record.partition] = record.offset + 1
        key = record.key or f"{record.partition}:{record.offset}"
        if key in known.parked:
            continue
        if event is None or (record.key is not None and str(event.incident_id) != record.key):
            known.parked.add(key)  # the projector parks it too: its later events are judged by nobody
            out.parked[key] = (record.partition, record.offset)
            continue
        before = known.states.get(event.incident_id)
        verdict, after = judge(before, event, seen=event.event_id in known.seen)
        if verdict.kind is VerdictKind.DUPLICATE:
            continue
        known.seen.add(event.event_id)
        out.judged.append(event.event_id)
        if not verdict.accepted or after is None:
            continue
        known.states[event.incident_id] = out.states[event.incident_id] = after
        reaction = react(event, before, after, record.partition, book)
        if reaction.cancel:
            out.apply_cancel(event.incident_id, reaction.cancel)
        out.arm |= {t.timer_id: t for t in reaction.arm}
        out.deliveries.extend(reaction.deliveries)
    return out
