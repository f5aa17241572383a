"""Properties of the fold over random histories: commands through decide, raw system events, redeliveries."""

from dataclasses import dataclass
from uuid import uuid5

import hypothesis
from hypothesis import strategies as st

from incidents_shared.domain import commands as c
from incidents_shared.domain import events as e
from incidents_shared.domain import payloads as p
from incidents_shared.domain.codec import GENESIS_HASH, canonical_bytes, chain_hash, decode
from incidents_shared.domain.decide import decide
from incidents_shared.domain.enums import (
    EscalationReason,
    HoldReason,
    Level,
    LinkRelation,
    NoteKind,
    Priority,
    ResolutionCode,
    Role,
    SlaTarget,
    Status,
)
from incidents_shared.domain.errors import DomainError
from incidents_shared.domain.fold import Verdict, judge
from incidents_shared.domain.state import Incident
from incidents_shared.domain.taxonomy import DEFAULT_TAXONOMY
from tests.unit.builders import INCIDENT_ID, LOG, NAMESPACE, OTHER_INCIDENT_ID, SAMPLE_DATA, Metas, at, event


@dataclass(frozen=True)
class Issue:
    """A person's command; `drift` (when set) makes expected_version = revision + drift, like a stale If-Match."""

    command: c.Command
    role: Role
    drift: int | None


@dataclass(frozen=True)
class Append:
    """An event appended without decide: the escalator, alert intake, or a racing writer (fresh event id)."""

    event: e.EventBase


@dataclass(frozen=True)
class Redeliver:
    """The log delivers an earlier record again."""

    index: int


Step = Issue | Append | Redeliver

names = st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), min_size=1, max_size=12)
levels = st.sampled_from(Level)
links = st.sampled_from([INCIDENT_ID, OTHER_INCIDENT_ID, NAMESPACE])
categories = st.sampled_from([(cat, sub) for cat, subs in DEFAULT_TAXONOMY.items() for sub in [None, *sorted(subs)]])


@st.composite
def log_incidents(draw: st.DrawFn) -> c.LogIncident:
    impact_urgency = draw(st.none() | st.tuples(levels, levels))
    category, subcategory = draw(st.none() | categories) or (None, None)
    impact, urgency = impact_urgency or (None, None)
    return c.LogIncident(
        title=draw(names),
        service=draw(names),
        category=category,
        subcategory=subcategory,
        impact=impact,
        urgency=urgency,
    )


commands = st.one_of(
    log_incidents(),
    categories.map(lambda pair: c.Categorize(category=pair[0], subcategory=pair[1])),
    st.builds(
        c.Prioritize,
        impact=levels,
        urgency=levels,
        override_priority=st.none() | st.sampled_from(Priority),
        reason=st.none() | names,
    ),
    st.builds(c.Assign, team=names, assignee=st.none() | names),
    st.just(c.Acknowledge()),
    st.just(c.StartInvestigation()),
    st.builds(c.AddNote, kind=st.sampled_from(NoteKind), text=names),
    st.builds(c.PutOnHold, reason=st.sampled_from(HoldReason)),
    st.just(c.Resume()),
    st.builds(c.Escalate, target_team=names, level=st.none() | st.integers(1, 20)),
    st.builds(c.DeclareMajor, reason=names),
    st.builds(c.PostUpdate, message=names),
    st.builds(c.Link, other_incident_id=links, relation=st.sampled_from(LinkRelation)),
    st.builds(c.Resolve, summary=names, resolution_code=st.sampled_from(ResolutionCode)),
    st.builds(c.Reopen, reason=names),
    st.just(c.Close()),
    st.builds(c.CompleteReview, summary=names),
)
roles = st.sampled_from([Role.MANAGER, Role.MANAGER, Role.RESPONDER, Role.REPORTER, Role.ADMIN, Role.INTEGRATION])
issues = st.builds(Issue, commands, roles, st.sampled_from([None, None, None, None, 0, -1, 1]))

PAYLOADS: dict[type[e.EventBase], st.SearchStrategy[p.Payload]] = {
    e.IncidentEscalated: st.builds(
        p.EscalatedData, level=st.integers(1, 20), target_team=names, reason=st.sampled_from(EscalationReason)
    ),
    e.SlaBreached: st.builds(p.SlaBreachedData, target=st.sampled_from(SlaTarget), due_at=st.just(at(15))),
    e.AlertCorrelated: st.builds(
        p.AlertCorrelatedData,
        source=names,
        dedup_key=names,
        fingerprint=names,
        count=st.integers(1, 50),
        last_seen_at=st.integers(0, 600).map(at),
    ),
    e.IncidentLinked: st.builds(p.LinkedData, other_incident_id=links, relation=st.sampled_from(LinkRelation)),
}


@st.composite
def appends(draw: st.DrawFn) -> Append:
    cls = draw(st.sampled_from(e.EVENT_CLASSES))
    data = draw(PAYLOADS.get(cls, st.just(SAMPLE_DATA[cls])))
    minute = draw(st.integers(0, 600))
    expected_version = draw(st.sampled_from([None, None, None, None, 0, 1, 2, 3, 5]))
    return Append(event(cls, data, expected_version=expected_version, occurred_at=at(minute), recorded_at=at(minute)))


# The lifecycle commands again, so that random histories often get past `new`.
lifecycle = st.sampled_from(
    [
        c.Acknowledge(),
        c.StartInvestigation(),
        c.PutOnHold(reason=HoldReason.OTHER),
        c.Resume(),
        c.Resolve(summary="fixed"),
        c.Reopen(reason="back again"),
        c.Close(),
    ]
).map(lambda command: Issue(command, Role.MANAGER, None))
redeliveries = st.builds(Redeliver, st.integers(0, 1_000))
# Weighted: 4 in 10 steps are any command, 3 a lifecycle command, 2 a raw append, 1 a redelivery.
steps = st.integers(0, 9).flatmap(
    lambda k: issues if k < 4 else lifecycle if k < 7 else appends() if k < 9 else redeliveries
)
histories = st.tuples(st.integers(0, 9).map(bool), st.lists(steps, min_size=10, max_size=40)).map(
    lambda start: ([Issue(LOG, Role.REPORTER, None)] if start[0] else []) + start[1]
)


@dataclass
class Run:
    log: list[e.EventBase]
    verdicts: list[Verdict]
    states: list[Incident | None]  # the state after each record of the log


def fold(log: list[e.EventBase]) -> Run:
    """What every reader does: judge the log from the start, remembering the event ids already judged."""
    run = Run(log, [], [])
    state: Incident | None = None
    seen: set[object] = set()
    for record in log:
        verdict, state = judge(state, record, seen=record.event_id in seen)
        seen.add(record.event_id)
        run.verdicts.append(verdict)
        run.states.append(state)
    return run


def _decided(state: Incident | None, step: Issue, metas: Metas) -> list[e.EventBase]:
    expected = None if step.drift is None or state is None else max(0, state.revision + step.drift)
    try:
        return decide(state, step.command, metas(step.role, expected_version=expected))
    except DomainError:
        return []


def play(history: list[Step]) -> Run:
    """Build the log as the platform would, judging each record as it is appended."""
    metas = Metas()
    log: list[e.EventBase] = []
    state: Incident | None = None
    for step in history:
        if isinstance(step, Issue):
            records = _decided(state, step, metas)
        elif isinstance(step, Append):
            records = [step.event.model_copy(update={"event_id": uuid5(NAMESPACE, f"append-{len(log)}")})]
        else:
            records = [log[step.index % len(log)]] if log else []
        for record in records:
            verdict, state = judge(state, record, seen=any(x.event_id == record.event_id for x in log))
            log.append(record)
            assert verdict.accepted or not isinstance(step, Issue), f"decide and the fold disagree: {verdict}"
    return fold(log)


EDGES = {
    (None, Status.NEW),
    (Status.NEW, Status.ACKNOWLEDGED),
    (Status.ACKNOWLEDGED, Status.INVESTIGATING),
    (Status.INVESTIGATING, Status.ON_HOLD),
    (Status.ON_HOLD, Status.INVESTIGATING),
    (Status.RESOLVED, Status.INVESTIGATING),
    (Status.RESOLVED, Status.CLOSED),
    *((status, Status.RESOLVED) for status in (Status.NEW, Status.ACKNOWLEDGED, Status.INVESTIGATING, Status.ON_HOLD)),
}

SETTINGS = hypothesis.settings(max_examples=200, deadline=None)


@SETTINGS
@hypothesis.given(histories)
def test_replaying_the_log_reproduces_every_verdict_state_and_hash(history: list[Step]) -> None:
    first = play(history)
    second = fold(first.log)

    assert second.verdicts == first.verdicts
    assert second.states == first.states


@SETTINGS
@hypothesis.given(histories)
def test_versions_revisions_and_the_hash_chain_follow_the_accepted_verdicts(history: list[Step]) -> None:
    run = play(history)
    previous: Incident | None = None
    last_hash, accepted, person_events = GENESIS_HASH, 0, 0

    for record, verdict, state in zip(run.log, run.verdicts, run.states, strict=True):
        if verdict.accepted:
            assert state is not None
            accepted += 1
            person_events += e.event_type(type(record)) not in e.BOOKKEEPING_TYPES
            assert verdict.hash == state.last_hash == chain_hash(last_hash, record)
            last_hash = state.last_hash
        else:
            assert verdict.hash is None
            assert state is previous
        if state is not None:
            assert (state.version, state.revision) == (accepted, person_events) == (verdict.version, verdict.revision)
            assert state.revision <= state.version
        previous = state

    assert (previous.last_hash if previous else GENESIS_HASH) == last_hash


@SETTINGS
@hypothesis.given(histories)
def test_every_state_reached_follows_the_state_machine(history: list[Step]) -> None:
    run = play(history)
    before: Incident | None = None

    for state in run.states:
        if state is not None:
            assert isinstance(state.status, Status)
            old = before.status if before else None
            assert old == state.status or (old, state.status) in EDGES, f"{old} -> {state.status}"
            assert state.is_open is (state.status not in (Status.RESOLVED, Status.CLOSED))
        before = state


@SETTINGS
@hypothesis.given(histories)
def test_every_generated_event_survives_serialization(history: list[Step]) -> None:
    for record in play(history).log:
        assert decode(canonical_bytes(record)) == record
