"""The invariant the read models keep: folding the log in order reproduces them exactly.

Pure: `LogFold` folds records the way the projector judges them (poison parks its incident, later records
of a parked incident wait), `compare` lists every difference between that and a snapshot of the read model.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from incidents_shared.audit import GENESIS_DIGEST, next_digest
from incidents_shared.domain.events import EventBase, NoteAdded
from incidents_shared.domain.fold import Verdict
from incidents_shared.domain.record import Record
from incidents_shared.domain.state import Incident
from incidents_shared.domain.walk import Known, Step, decode_record, refused_by_store, walk

VerdictKey = tuple[str, int, int, str | None]  # verdict, version, revision, hash


@dataclass
class ReadModelSnapshot:
    """What the read model holds, as the checker compares it."""

    states: dict[UUID, dict[str, Any]] = field(default_factory=dict)  # incident_id -> state JSON
    verdicts: dict[UUID, VerdictKey] = field(default_factory=dict)
    hashes: dict[UUID, list[str]] = field(default_factory=dict)  # accepted events' hashes in version order
    parked: set[str] = field(default_factory=set)
    notes: dict[UUID, str] = field(default_factory=dict)  # searchable note texts, in order


@dataclass(frozen=True)
class Applied:
    """One record after the fold: its event and verdict, or why it was parked unjudged."""

    event: EventBase | None = None
    verdict: Verdict | None = None
    parked: str | None = None


class LogFold:
    """The log folded through the shared `judge`, record by record, in log order per partition."""

    def __init__(self) -> None:
        self.known = Known()
        self.verdicts: dict[UUID, VerdictKey] = {}
        self.hashes: dict[UUID, list[str]] = defaultdict(list)
        self.notes: dict[UUID, str] = defaultdict(str)
        self.digests: dict[int, str] = {}  # running digest of accepted events per partition (incidents_shared.audit)
        self.accepted: dict[UUID, list[tuple[int, UUID, str]]] = defaultdict(list)  # (version, event id, hash)

    def apply(self, record: Record, refused: str | None = None) -> Applied:
        """Judge one record at its place in the log; what happened to it, as every reader sees it. `refused`: the
        projector's store refused it (its dead letter says so), so it is poison here too."""
        decoded = decode_record(record)
        step = next(walk([refused_by_store(decoded, refused) if refused else decoded], self.known))
        if step.held:
            return Applied(parked="its incident is parked behind a poison record")
        if step.poison is not None:
            return Applied(step.event, parked=f"poison: {step.poison}")
        event, verdict = step.event, step.verdict
        assert event is not None
        assert verdict is not None
        if step.judged:
            self._count(step, event, verdict)
        return Applied(event, verdict)

    def _count(self, step: Step, event: EventBase, verdict: Verdict) -> None:
        self.verdicts[event.event_id] = (verdict.kind.value, verdict.version, verdict.revision, verdict.hash)
        if not step.accepted:
            return
        self.hashes[event.incident_id].append(verdict.hash or "")
        self.accepted[event.incident_id].append((verdict.version, event.event_id, verdict.hash or ""))
        previous = self.digests.get(step.record.partition, GENESIS_DIGEST)
        self.digests[step.record.partition] = next_digest(previous, verdict.hash or "")
        if isinstance(event, NoteAdded):
            self.notes[event.incident_id] += " " + event.data.text

    @property
    def states(self) -> dict[UUID, Incident]:
        return self.known.states

    @property
    def parked(self) -> set[str]:
        return self.known.parked

    def expected(self) -> ReadModelSnapshot:
        return ReadModelSnapshot(
            states={i: s.model_dump(mode="json") for i, s in self.states.items()},
            verdicts=dict(self.verdicts),
            hashes=dict(self.hashes),
            parked=set(self.parked),
            notes={i: self.notes.get(i, "") for i in self.states},
        )


def _diff_keys(what: str, expected: dict[Any, Any], actual: dict[Any, Any]) -> list[str]:
    found = [f"{what} {k}: in the log, missing from the read model" for k in expected.keys() - actual.keys()]
    found += [f"{what} {k}: in the read model, not in the log" for k in actual.keys() - expected.keys()]
    return sorted(found)


def _diff_state(incident_id: UUID, expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    fields = sorted(k for k in expected.keys() | actual.keys() if expected.get(k) != actual.get(k))
    return [f"incident {incident_id}: {f} is {actual.get(f)!r}, the log gives {expected.get(f)!r}" for f in fields]


def compare(expected: ReadModelSnapshot, actual: ReadModelSnapshot) -> list[str]:
    """Every difference between the fold of the log and the read model, one precise line each."""
    found = _diff_keys("incident", expected.states, actual.states)
    for incident_id in sorted(expected.states.keys() & actual.states.keys()):
        found += _diff_state(incident_id, expected.states[incident_id], actual.states[incident_id])
    found += _diff_keys("verdict on event", expected.verdicts, actual.verdicts)
    for event_id in sorted(expected.verdicts.keys() & actual.verdicts.keys()):
        if expected.verdicts[event_id] != actual.verdicts[event_id]:
            found.append(
                f"verdict on event {event_id}: {actual.verdicts[event_id]}, the log gives {expected.verdicts[event_id]}"
            )
    for incident_id in sorted(expected.hashes.keys() | actual.hashes.keys()):
        want, got = expected.hashes.get(incident_id, []), actual.hashes.get(incident_id, [])
        if want != got:
            found.append(f"events of incident {incident_id}: {len(got)} stored, {len(want)} accepted in the log")
    found += [
        f"incident {i}: notes_text differs from the accepted notes' texts"
        for i in sorted(expected.notes.keys() & actual.notes.keys())
        if expected.notes[i] != actual.notes[i]
    ]
    found += [f"parked {k}: parked by the log, not in the read model" for k in sorted(expected.parked - actual.parked)]
    found += [f"parked {k}: parked in the read model, not by the log" for k in sorted(actual.parked - expected.parked)]
    return found
