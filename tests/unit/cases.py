"""The state machine as the design describes it, written independently of preconditions.py."""

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from incidents_shared.domain import commands as c
from incidents_shared.domain import events as e
from incidents_shared.domain import payloads as p
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
from tests.unit.builders import OTHER_INCIDENT_ID, SAMPLE_DATA, at

PAGE_LINK = UUID(int=42)  # the page whose link acknowledges

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
    Case(
        c.Acknowledge(comment="on it"),
        e.IncidentAcknowledged,
        p.AcknowledgedData(comment="on it"),
        frozenset({NEW}),
        ACK,
    ),
    Case(
        c.AcknowledgeFromPage(page_link=PAGE_LINK),
        e.IncidentAcknowledged,
        p.AcknowledgedData(page_link=PAGE_LINK),
        frozenset({NEW}),
        ACK,
    ),
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
    Case(None, e.AlertsRecorded, SAMPLE_DATA[e.AlertsRecorded], EXISTING),
    # a policy step's page stops at the acknowledgement (other pages' first contact: tests/unit/test_paging.py)
    Case(None, e.IncidentPaged, SAMPLE_DATA[e.IncidentPaged], frozenset({NEW})),
    Case(
        None,
        e.IncidentEscalated,
        p.EscalatedData(level=1, target_team="sre", reason=EscalationReason.PRIORITY_RAISED),
        OPEN,
    ),
]
