"""Folding one polled batch: the walk of the log, then the escalator's reactions, netted per batch. Pure."""

from dataclasses import dataclass, field
from uuid import UUID

from incidents_shared.domain.escalation.book import PolicyBook
from incidents_shared.domain.escalation.people import People
from incidents_shared.domain.escalation.reactions import Reaction, react
from incidents_shared.domain.escalation.recipients import Delivery
from incidents_shared.domain.escalation.storm import Hold
from incidents_shared.domain.escalation.timers import Timer, TimerKind
from incidents_shared.domain.state import Incident
from incidents_shared.domain.walk import Decoded, Known, walk

__all__ = ["Known", "Outcome", "fold_batch"]


@dataclass
class Outcome:
    states: dict[UUID, Incident] = field(default_factory=dict)
    judged: list[UUID] = field(default_factory=list)
    cancel: set[tuple[UUID, TimerKind]] = field(default_factory=set)  # of timers armed before this batch
    arm: dict[UUID, Timer] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    next_offsets: dict[int, int] = field(default_factory=dict)
    parked: dict[str, tuple[int, int]] = field(default_factory=dict)  # newly parked key -> (partition, offset)
    holds: list[Hold] = field(default_factory=list)  # pages held in a storm (escalator.storms records them)
    # The ids in `arm` per incident, so that a cancel looks at that incident's timers only (a batch of n incidents
    # used to scan every armed timer per cancel: quadratic in the batch).
    _armed: dict[UUID, set[UUID]] = field(default_factory=dict, repr=False, compare=False)

    def add(self, incident_id: UUID, reaction: Reaction) -> None:
        """Net a reaction into the batch: cancels first (they also drop what this batch armed), then arms."""
        armed = self._armed.setdefault(incident_id, set())
        if kinds := reaction.cancel:
            self.cancel |= {(incident_id, kind) for kind in kinds}
            for dropped in [i for i in armed if self.arm[i].kind in kinds]:
                del self.arm[dropped]
                armed.discard(dropped)
        for timer in reaction.arm:  # a digest's timer is armed by each of its holds: the first one carries it
            if timer.kind is not TimerKind.DIGEST or timer.timer_id not in self.arm:
                self.arm[timer.timer_id] = timer
                self._armed.setdefault(timer.incident_id, set()).add(timer.timer_id)
        self.deliveries.extend(reaction.deliveries)
        self.holds.extend(reaction.holds)


def fold_batch(batch: list[Decoded], known: Known, book: PolicyBook, people: People) -> Outcome:
    """Walk the batch like every reader, and react to the accepted events."""
    out = Outcome()
    for step in walk(batch, known):
        record = step.record
        out.next_offsets[record.partition] = record.offset + 1
        if step.poison is not None:
            out.parked[record.incident_key] = (record.partition, record.offset)
        elif step.judged and step.event is not None:
            out.judged.append(step.event.event_id)
            if step.accepted and step.after is not None:
                out.states[step.event.incident_id] = step.after
                out.add(
                    step.event.incident_id, react(step.event, step.before, step.after, record.partition, book, people)
                )
    return out
