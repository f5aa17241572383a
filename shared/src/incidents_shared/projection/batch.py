"""Judging one polled batch for the read model: the walk of the log, kept as rows to write. Pure.

The store loads what the batch needs (`Known`), `project` walks the batch and returns what to write.
"""

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from incidents_shared.audit import GENESIS_DIGEST, next_digest
from incidents_shared.domain.codec import GENESIS_HASH
from incidents_shared.domain.fold import Verdict
from incidents_shared.domain.record import Record
from incidents_shared.domain.state import Incident
from incidents_shared.domain.walk import Decoded, Step, walk
from incidents_shared.domain.walk import Known as LogKnown


@dataclass
class Known(LogKnown):
    """What the walk needs, and the running digest per partition (incidents_shared.audit)."""

    digests: dict[int, str] = field(default_factory=dict)


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


def project(batch: list[Decoded], known: Known) -> Outcome:
    """Walk the batch in log order and keep what the read model stores of each record."""
    out = Outcome()
    for step in walk(batch, known):
        record = step.record
        out.next_offsets[record.partition] = record.offset + 1
        if step.held:
            out.parked_events.append(record)
        elif step.poison is not None:
            out.dead_letters.append((record, step.poison))
        elif step.judged:
            out.verdicts.append((step.event, step.verdict, record.partition, record.offset))
            if step.accepted:
                _keep_accepted(step, known, out)
    return out


def _keep_accepted(step: Step, known: Known, out: Outcome) -> None:
    event, verdict, after, record = step.event, step.verdict, step.after, step.record
    assert event is not None
    assert verdict is not None
    assert after is not None
    prev_hash = step.before.last_hash if step.before else GENESIS_HASH
    out.events.append((event, verdict, prev_hash, record.partition, record.offset, step.canonical))
    out.states[event.incident_id] = after
    digest = next_digest(known.digests.get(record.partition, GENESIS_DIGEST), verdict.hash or "")
    known.digests[record.partition] = out.digests[record.partition] = digest
