"""What-if replay: people's events through the escalator's fold, reactions and timers, on a driven clock. Pure.

`Simulator` is the escalator without I/O: `append` is the log, `advance` moves the clock and fires due timers in
due order (each fired timer's event is appended at its due time, as if the escalator were never late).
`history` picks what people did out of a real log; `simulate_incident` replays one incident under a policy.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from incidents_shared.domain import events as e
from incidents_shared.domain.codec import canonical_bytes
from incidents_shared.domain.enums import SlaTarget
from incidents_shared.domain.escalation.book import PolicyBook
from incidents_shared.domain.escalation.fold import fold_batch
from incidents_shared.domain.escalation.people import People
from incidents_shared.domain.escalation.recipients import Delivery
from incidents_shared.domain.escalation.storm import StormLedger
from incidents_shared.domain.escalation.timers import ACTOR, Timer, TimerKind, build_event
from incidents_shared.domain.record import Record
from incidents_shared.domain.state import Incident
from incidents_shared.domain.walk import Known, decode_record, walk_records


def _carried(timer: Timer, armed: dict[UUID, Timer]) -> bool:
    """A digest's timer already armed stays on the incident that armed it first (as in escalator_timers)."""
    return timer.kind is TimerKind.DIGEST and timer.timer_id in armed


def _firing_order(timer: Timer) -> tuple[datetime, str, int, str]:
    return (timer.due_at, timer.kind.value, timer.step, str(timer.timer_id))


class Simulator:
    """The escalator's fold and timers in memory; time moves only when the caller says so."""

    def __init__(self, book: PolicyBook, partition: int = 0, people: People | None = None) -> None:
        self.book = book
        self.people = people or People()
        self.partition = partition
        self.known = Known()
        self.timers: dict[UUID, Timer] = {}
        self.fired: set[UUID] = set()
        self.deliveries: list[Delivery] = []
        self.storms = StormLedger()  # what the escalator counts and holds in PostgreSQL (escalator.storms)
        self.accepted: list[e.EventBase] = []
        self.offset = 0

    def append(self, event: e.EventBase) -> bool:
        """Judge and react to one event as if it were the next record of the log; True if it was accepted."""
        record = Record(self.partition, self.offset, str(event.incident_id), canonical_bytes(event))
        self.offset += 1
        before = self.known.states.get(event.incident_id)
        out = fold_batch([decode_record(record)], self.known, self.book, self.people)
        after = out.states.get(event.incident_id)
        accepted = after is not None and (before is None or after.version > before.version)
        if accepted:
            self.accepted.append(event)
        for incident, kind in sorted(out.cancel):
            self.timers = {k: t for k, t in self.timers.items() if not (t.incident_id == incident and t.kind == kind)}
        self.timers |= {k: t for k, t in out.arm.items() if k not in self.fired and not _carried(t, self.timers)}
        self.deliveries.extend(out.deliveries)
        self.storms.record(out.holds)
        return accepted

    def next_due(self, now: datetime, *, inclusive: bool = True) -> Timer | None:
        due = [t for t in self.timers.values() if t.due_at < now or (inclusive and t.due_at == now)]
        return min(due, key=_firing_order) if due else None

    def advance(self, now: datetime, *, inclusive: bool = True) -> list[e.EventBase]:
        """Fire every timer due by `now` (before it unless `inclusive`) in due order, with what they arm."""
        emitted: list[e.EventBase] = []
        while (timer := self.next_due(now, inclusive=inclusive)) is not None:
            del self.timers[timer.timer_id]
            self.fired.add(timer.timer_id)
            if (event := self._fire(timer)) is not None:
                self.append(event)
                emitted.append(event)
        return emitted

    def _fire(self, timer: Timer) -> e.EventBase | None:
        """The event a due timer appends, pages admitted or held as the escalator's timer loop does."""
        if timer.kind is TimerKind.DIGEST:
            return self.storms.digest(timer, self.known.states, self.people)
        state = self.known.states[timer.incident_id]
        timer = self.storms.admit(timer, state, self.book.for_incident(state).storm, timer.due_at)
        return build_event(timer, state, self.book, self.people, timer.due_at)


def is_escalators(event: e.EventBase) -> bool:
    """Events the escalator appended itself: a simulation makes its own instead."""
    return event.actor.id == ACTOR.id and event.actor.kind is ACTOR.kind


def history(records: Iterable[Record]) -> dict[UUID, list[e.EventBase]]:
    """What people (and other services) did, per incident, in log order: the events the log accepted.

    Records are judged like every reader judges them (per partition order; undecodable records and everything
    after them on the same key are skipped, as the projector parks them). The escalator's own events are left
    out, and so is each event's `expected_version`: it named a revision that counted the real escalations.
    """
    kept: dict[UUID, list[e.EventBase]] = {}
    for step in walk_records(records, Known()):
        if step.accepted and step.event is not None and not is_escalators(step.event):
            event = step.event.model_copy(update={"expected_version": None})
            kept.setdefault(event.incident_id, []).append(event)
    return kept


@dataclass(frozen=True)
class IncidentOutcome:
    """What one incident would have gone through under one policy."""

    incident_id: UUID
    priority: str  # the priority at the end of the simulation, "none" if it never had one
    logged_at: datetime
    pages: int  # deliveries a channel carries (an undeliverable one reaches nobody)
    escalations: int
    ack_breaches: int
    resolve_breaches: int
    time_to_responder_s: float | None  # None: not acknowledged within the simulation
    escalation_levels: tuple[int, ...] = field(default=())


def simulate_incident(events: list[e.EventBase], book: PolicyBook, until: datetime) -> IncidentOutcome | None:
    """Replay one incident's events in order; timers due strictly before an event fire first; then run to `until`.

    A timer due at the very instant of a person's event fires after it (the person was in time).
    Returns None when the log's first event of the incident is not accepted (nothing to simulate).
    """
    sim = Simulator(book)
    for event in events:
        if event.occurred_at > until:
            break
        sim.advance(event.occurred_at, inclusive=False)
        sim.append(event)
    sim.advance(until)
    if not sim.accepted:
        return None
    return outcome(sim.accepted, sim.deliveries, sim.known.states[sim.accepted[0].incident_id])


def outcome(accepted: list[e.EventBase], deliveries: list[Delivery], state: Incident) -> IncidentOutcome:
    escalated = [ev for ev in accepted if isinstance(ev, e.IncidentEscalated)]
    breaches = [ev.data.target for ev in accepted if isinstance(ev, e.SlaBreached)]
    return IncidentOutcome(
        incident_id=state.incident_id,
        priority=state.priority.value if state.priority else "none",
        logged_at=state.logged_at,
        pages=sum(1 for d in deliveries if d.undeliverable is None),
        escalations=len(escalated),
        ack_breaches=breaches.count(SlaTarget.ACKNOWLEDGE),
        resolve_breaches=breaches.count(SlaTarget.RESOLVE),
        time_to_responder_s=time_to_responder(state.logged_at, accepted),
        escalation_levels=tuple(ev.data.level for ev in escalated),
    )


def time_to_responder(logged_at: datetime, accepted: list[e.EventBase]) -> float | None:
    """Seconds from logged to the last escalation at or before the first acknowledgement, else to that ack.

    The responder who acknowledged is taken as the right one; they were reached by the last escalation before
    their acknowledgement, or, when nothing was escalated, by the time they acknowledged. None if never acked.
    """
    ack = next((ev.occurred_at for ev in accepted if isinstance(ev, e.IncidentAcknowledged)), None)
    if ack is None:
        return None
    reached = [ev.occurred_at for ev in accepted if isinstance(ev, e.IncidentEscalated) and ev.occurred_at <= ack]
    return (max(reached, default=ack) - logged_at).total_seconds()
