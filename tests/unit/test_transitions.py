"""Given a state / when a command (or a system event) / then events or a refusal, for every precondition."""

from dataclasses import dataclass
from datetime import date

import pytest

from incidents_shared.domain import commands as c
from incidents_shared.domain import events as e
from incidents_shared.domain import payloads as p
from incidents_shared.domain.decide import decide
from incidents_shared.domain.enums import (
    EscalationReason,
    HoldReason,
    Level,
    LinkRelation,
    NoteKind,
    Priority,
    ResolutionCode,
    SlaTarget,
    Status,
)
from incidents_shared.domain.errors import IncidentNotFound, InvalidTransition
from incidents_shared.domain.fold import VerdictKind, judge
from incidents_shared.domain.preconditions import PRECONDITIONS
from tests.unit.builders import OTHER_INCIDENT_ID, SAMPLE_DATA, Metas, at, event, in_status

NEW, ACK, INV, HOLD, RES, CLOSED = (
    Status.NEW,
    Status.ACKNOWLEDGED,
    Status.INVESTIGATING,
    Status.ON_HOLD,
    Status.RESOLVED,
    Status.CLOSED,
)
OPEN = frozenset({NEW, ACK, INV, HOLD})
OPEN_OR_RESOLVED = OPEN | {RES}
EXISTING = OPEN_OR_RESOLVED | {CLOSED}
STATES: list[Status | None] = [None, *Status]


@dataclass(frozen=True)
class Case:
    """A command, the one event it must produce, where it is allowed, and the status it leads to (None: same)."""

    command: c.Command | None  # None: only the system appends this event
    event_cls: type[e.EventBase]
    data: p.Payload
    allowed: frozenset[Status | None]
    then: Status | None = None


ITEM = p.ActionItem(title="monitor cert expiry", owner="sre", due=date(2026, 2, 1))

# The state machine as the design describes it, written independently of preconditions.py.
COMMAND_CASES = [
    Case(
        c.LogIncident(title="Disk full", service="db", detected_at=at(-5)),
        e.IncidentLogged,
        p.LoggedData(title="Disk full", service="db", reporter="manager-1", detected_at=at(-5)),
        frozenset({None}),
        NEW,
    ),
    Case(
        c.Categorize(category="network", subcategory="dns"),
        e.IncidentCategorized,
        p.CategorizedData(category="network", subcategory="dns"),
        OPEN_OR_RESOLVED,
    ),
    Case(
        c.Prioritize(impact=Level.HIGH, urgency=Level.LOW),
        e.IncidentPrioritized,
        p.PrioritizedData(impact=Level.HIGH, urgency=Level.LOW, priority=Priority.P3),
        OPEN,
    ),
    Case(
        c.Assign(team="payments", assignee="alice"),
        e.IncidentAssigned,
        p.AssignedData(team="payments", assignee="alice"),
        OPEN,
    ),
    Case(c.Acknowledge(comment="on it"), e.IncidentAcknowledged, p.EmptyData(comment="on it"), frozenset({NEW}), ACK),
    Case(c.StartInvestigation(), e.InvestigationStarted, p.EmptyData(), frozenset({ACK}), INV),
    Case(
        c.AddNote(kind=NoteKind.WORKAROUND, text="restart the pods"),
        e.NoteAdded,
        p.NoteAddedData(kind=NoteKind.WORKAROUND, text="restart the pods"),
        OPEN_OR_RESOLVED,
    ),
    Case(
        c.PutOnHold(reason=HoldReason.AWAITING_CALLER),
        e.PutOnHold,
        p.PutOnHoldData(reason=HoldReason.AWAITING_CALLER),
        frozenset({INV}),
        HOLD,
    ),
    Case(c.Resume(), e.IncidentResumed, p.EmptyData(), frozenset({HOLD}), INV),
    Case(c.DeclareMajor(reason="all customers"), e.MajorDeclared, p.MajorDeclaredData(reason="all customers"), OPEN),
    Case(
        c.Escalate(target_team="sre"),
        e.IncidentEscalated,
        p.EscalatedData(level=1, target_team="sre", reason=EscalationReason.MANUAL),
        OPEN,
    ),
    Case(
        c.PostUpdate(message="ETA 1h"),
        e.StakeholderUpdatePosted,
        p.StakeholderUpdateData(audience="stakeholders", message="ETA 1h"),
        OPEN_OR_RESOLVED,
    ),
    Case(
        c.Link(other_incident_id=OTHER_INCIDENT_ID, relation=LinkRelation.RELATED),
        e.IncidentLinked,
        p.LinkedData(other_incident_id=OTHER_INCIDENT_ID, relation=LinkRelation.RELATED),
        EXISTING,
    ),
    Case(
        c.Resolve(summary="freed space", root_cause="log rotation off"),
        e.IncidentResolved,
        p.ResolvedData(resolution_code=ResolutionCode.FIXED, root_cause="log rotation off", summary="freed space"),
        OPEN,
        RES,
    ),
    Case(c.Reopen(reason="full again"), e.IncidentReopened, p.ReopenedData(reason="full again"), frozenset({RES}), INV),
    Case(c.Close(), e.IncidentClosed, p.EmptyData(), frozenset({RES}), CLOSED),
    Case(
        c.CompleteReview(summary="no rotation", action_items=[ITEM]),
        e.ReviewCompleted,
        p.ReviewCompletedData(summary="no rotation", action_items=[ITEM]),
        frozenset({RES, CLOSED}),
    ),
]

# Events only the system appends (escalator, alert intake): judged by the fold directly.
SYSTEM_CASES = [
    Case(None, e.SlaTargetsSet, SAMPLE_DATA[e.SlaTargetsSet], OPEN),
    # on hold the resolve clock is paused: that guard is tested in test_guards.py
    Case(None, e.SlaBreached, p.SlaBreachedData(target=SlaTarget.RESOLVE, due_at=at(30)), frozenset({NEW, ACK, INV})),
    Case(None, e.NotificationSent, SAMPLE_DATA[e.NotificationSent], EXISTING),
    Case(None, e.NotificationFailed, SAMPLE_DATA[e.NotificationFailed], EXISTING),
    Case(None, e.AlertCorrelated, SAMPLE_DATA[e.AlertCorrelated], EXISTING),
    Case(
        None,
        e.IncidentEscalated,
        p.EscalatedData(level=1, target_team="sre", reason=EscalationReason.PRIORITY_RAISED),
        OPEN,
    ),
]


def _name(status: Status | None) -> str:
    return "absent" if status is None else status.value


def _grid(cases: list[Case]) -> list[object]:
    return [
        pytest.param(case, status, id=f"{e.event_type(case.event_cls)}-in-{_name(status)}")
        for case in cases
        for status in STATES
    ]


def test_the_cases_cover_every_precondition_entry() -> None:
    covered = [case.event_cls for case in COMMAND_CASES + SYSTEM_CASES]
    assert set(covered) == set(PRECONDITIONS) == set(e.EVENT_CLASSES)


@pytest.mark.parametrize(("case", "status"), _grid(COMMAND_CASES))
def test_command_is_decided_exactly_in_its_allowed_states(case: Case, status: Status | None) -> None:
    assert case.command is not None
    metas = Metas()
    state = in_status(status, metas)
    meta = metas()

    if status not in case.allowed:
        expected_error = IncidentNotFound if status is None and case.event_cls is not e.IncidentLogged else None
        with pytest.raises(expected_error or InvalidTransition):
            decide(state, case.command, meta)
        return

    events = decide(state, case.command, meta)

    expected = case.event_cls.model_validate(
        {
            "event_id": events[0].event_id,
            "incident_id": meta.incident_id,
            "occurred_at": meta.now,
            "recorded_at": meta.now,
            "actor": meta.actor,
            "correlation_id": meta.correlation_id,
            "data": case.data,
        }
    )
    assert events == [expected]
    verdict, after = judge(state, events[0], seen=False)
    assert verdict.kind is VerdictKind.ACCEPTED
    assert after is not None
    assert after.status == (case.then or (state.status if state else None))


@pytest.mark.parametrize(("case", "status"), _grid(COMMAND_CASES + SYSTEM_CASES))
def test_fold_accepts_the_event_exactly_in_its_allowed_states(case: Case, status: Status | None) -> None:
    state = in_status(status)
    raced = event(case.event_cls, case.data)

    verdict, after = judge(state, raced, seen=False)

    if status in case.allowed:
        assert verdict.kind is VerdictKind.ACCEPTED, verdict.reason
        assert after is not None
        assert after.status == (case.then or status)
    else:
        assert verdict.kind is VerdictKind.REJECTED_INVALID
        assert verdict.hash is None
        assert after == state


def test_decided_event_ids_are_deterministic_per_command_id() -> None:
    metas = Metas()
    state = in_status(NEW, metas)
    meta, other_meta = metas(), metas()

    first = decide(state, c.Acknowledge(), meta)
    retried = decide(state, c.Acknowledge(), meta)
    other = decide(state, c.Acknowledge(), other_meta)

    assert [x.event_id for x in retried] == [x.event_id for x in first]
    assert other[0].event_id != first[0].event_id


def test_decided_event_carries_the_command_metadata() -> None:
    state = in_status(NEW)
    base = Metas()()
    meta = c.CommandMeta(
        incident_id=base.incident_id,
        command_id=base.command_id,
        actor=base.actor,
        now=base.now,
        correlation_id="req-42",
        causation_id="evt-41",
        expected_version=state.revision if state else None,
        request_hash="ab" * 32,
    )

    [acknowledged] = decide(state, c.Acknowledge(), meta)

    assert acknowledged.correlation_id == "req-42"
    assert acknowledged.causation_id == "evt-41"
    assert acknowledged.expected_version == 1
    assert acknowledged.request_hash == "ab" * 32
    assert acknowledged.occurred_at == acknowledged.recorded_at == base.now
