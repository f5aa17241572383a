"""Small builders for the domain's unit tests: actors, command metadata on a fixed clock, sample payloads."""

import itertools
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from incidents_shared.domain import commands as c
from incidents_shared.domain import events as e
from incidents_shared.domain import payloads as p
from incidents_shared.domain.decide import decide
from incidents_shared.domain.enums import (
    ActorKind,
    AlertStatus,
    ContactKind,
    EscalationReason,
    HoldReason,
    Level,
    LinkRelation,
    NoteKind,
    PageReason,
    Priority,
    ResolutionCode,
    Role,
    SlaTarget,
    Status,
)
from incidents_shared.domain.fold import judge
from incidents_shared.domain.state import Incident

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NAMESPACE = UUID("6f1c2a52-0d7e-4c43-9a57-6a3c1f0b9e11")
INCIDENT_ID = uuid5(NAMESPACE, "incident")
OTHER_INCIDENT_ID = uuid5(NAMESPACE, "other-incident")


def at(minutes: float = 0) -> datetime:
    """The fixed test clock: 2026-01-01T00:00Z plus `minutes`."""
    return T0 + timedelta(minutes=minutes)


def actor(role: Role) -> e.Actor:
    kind = ActorKind.SERVICE if role in (Role.INTEGRATION, Role.SYSTEM) else ActorKind.USER
    return e.Actor(id=f"{role.value}-1", kind=kind, role=role.value)


class Metas:
    """Hands out CommandMeta with deterministic command ids and a clock that moves one minute per command."""

    def __init__(self, incident_id: UUID = INCIDENT_ID) -> None:
        self.incident_id = incident_id
        self._counter: Iterator[int] = itertools.count()

    def __call__(self, role: Role = Role.MANAGER, *, expected_version: int | None = None) -> c.CommandMeta:
        n = next(self._counter)
        return c.CommandMeta(
            incident_id=self.incident_id,
            command_id=uuid5(NAMESPACE, f"command-{n}"),
            actor=actor(role),
            now=at(n),
            correlation_id=f"correlation-{n}",
            expected_version=expected_version,
        )


def apply(state: Incident | None, events: Sequence[e.EventBase]) -> Incident | None:
    """Judge events in order (none seen before) and insist that every one is accepted."""
    for event in events:
        verdict, state = judge(state, event, seen=False)
        assert verdict.accepted, f"{e.event_type(type(event))} rejected: {verdict.reason}"
    return state


def run(
    state: Incident | None, commands: Sequence[c.Command], metas: Metas, role: Role = Role.MANAGER
) -> Incident | None:
    """decide + judge each command in turn, starting from `state`."""
    for command in commands:
        state = apply(state, decide(state, command, metas(role)))
    return state


def given(*commands: c.Command, metas: Metas | None = None) -> Incident:
    """The incident that a manager's commands produce, through decide and the fold."""
    state = run(None, commands, metas or Metas())
    assert state is not None
    return state


LOG = c.LogIncident(title="Checkout fails", service="checkout")

# One real command path per status: new -> acknowledged -> investigating -> on_hold -> resolved -> closed.
PATHS: dict[Status, tuple[c.Command, ...]] = {
    Status.NEW: (LOG,),
    Status.ACKNOWLEDGED: (LOG, c.Acknowledge()),
    Status.INVESTIGATING: (LOG, c.Acknowledge(), c.StartInvestigation()),
    Status.ON_HOLD: (LOG, c.Acknowledge(), c.StartInvestigation(), c.PutOnHold(reason=HoldReason.AWAITING_VENDOR)),
    Status.RESOLVED: (
        LOG,
        c.Acknowledge(),
        c.StartInvestigation(),
        c.PutOnHold(reason=HoldReason.AWAITING_VENDOR),
        c.Resolve(summary="vendor patched the gateway"),
    ),
    Status.CLOSED: (
        LOG,
        c.Acknowledge(),
        c.StartInvestigation(),
        c.PutOnHold(reason=HoldReason.AWAITING_VENDOR),
        c.Resolve(summary="vendor patched the gateway"),
        c.Close(),
    ),
}


def in_status(status: Status | None, metas: Metas | None = None) -> Incident | None:
    """An incident brought to `status` by the real command path; None is "no incident yet"."""
    return None if status is None else given(*PATHS[status], metas=metas)


def envelope(**overrides: Any) -> dict[str, Any]:
    """The envelope fields of an event on INCIDENT_ID, as the escalator or a test would write them."""
    fields: dict[str, Any] = {
        "event_id": uuid5(NAMESPACE, "event"),
        "incident_id": INCIDENT_ID,
        "occurred_at": at(30),
        "recorded_at": at(30),
        "actor": actor(Role.SYSTEM),
        "correlation_id": "correlation-system",
    }
    return {**fields, **overrides}


def event(cls: type[e.EventBase], data: p.Payload | None = None, **overrides: Any) -> e.EventBase:
    """An event of `cls` with `data` (default: its sample payload) and the test envelope."""
    return cls.model_validate({**envelope(**overrides), "data": SAMPLE_DATA[cls] if data is None else data})


def escalated(reason: EscalationReason, level: int, **overrides: Any) -> e.EventBase:
    data = p.EscalatedData(level=level, target_team="sre", reason=reason, policy_id="default", policy_version=1)
    return event(e.IncidentEscalated, data, **overrides)


def breached(target: SlaTarget, **overrides: Any) -> e.EventBase:
    return event(e.SlaBreached, p.SlaBreachedData(target=target, due_at=at(15)), **overrides)


# A valid payload for every event class of the catalogue.
SAMPLE_DATA: dict[type[e.EventBase], p.Payload] = {
    e.IncidentLogged: p.LoggedData(
        title="Checkout fails",
        description="HTTP 502 from the payment gateway",
        service="checkout",
        reporter="reporter-1",
        detected_at=at(-5),
        labels={"env": "prod", "region": "eu-west-1"},
        dedup_key="checkout-502",
        category="software",
        subcategory="application",
        impact=Level.HIGH,
        urgency=Level.MEDIUM,
        priority=Priority.P2,
        runbook_url="https://runbooks.example/checkout",
    ),
    e.IncidentCategorized: p.CategorizedData(category="network", subcategory="dns"),
    e.IncidentPrioritized: p.PrioritizedData(
        impact=Level.LOW, urgency=Level.LOW, priority=Priority.P1, overridden=True, reason="CEO is affected"
    ),
    e.IncidentAssigned: p.AssignedData(team="payments", assignee="alice"),
    e.IncidentAcknowledged: p.AcknowledgedData(comment="on it", page_link=UUID(int=7)),
    e.InvestigationStarted: p.EmptyData(),
    e.NoteAdded: p.NoteAddedData(kind=NoteKind.DIAGNOSIS, text="TLS handshake times out"),
    e.PutOnHold: p.PutOnHoldData(reason=HoldReason.AWAITING_VENDOR, comment="ticket V-12"),
    e.IncidentResumed: p.EmptyData(comment="vendor answered"),
    e.MajorDeclared: p.MajorDeclaredData(reason="all EU customers affected"),
    e.IncidentEscalated: p.EscalatedData(
        level=2,
        target_team="sre",
        target_person="bob",
        reason=EscalationReason.RESOLVE_SLA,
        policy_id="default",
        policy_version=3,
        step=1,
    ),
    e.IncidentPaged: p.PagedData(
        page_id=uuid5(NAMESPACE, "page"),
        user="ann",
        reason=PageReason.STEP,
        about_event_id=uuid5(NAMESPACE, "about"),
        contact=p.ContactAttempt(index=1, kind=ContactKind.SLACK, address="https://hooks.example/ann"),
        level=1,
        team="payments",
        schedule="payments-primary",
        source="override",
    ),
    e.SlaTargetsSet: p.SlaTargetsSetData(
        priority=Priority.P2, ack_due_at=at(15), resolve_due_at=at(240), policy_id="default", policy_version=3
    ),
    e.SlaBreached: p.SlaBreachedData(target=SlaTarget.RESOLVE, due_at=at(240)),
    e.StakeholderUpdatePosted: p.StakeholderUpdateData(audience="customers", message="We are on it – ETA 1h ✓"),
    e.NotificationSent: p.NotificationData(
        channel="slack", target="https://hooks.example/T1", attempt=1, about_event_id=uuid5(NAMESPACE, "about")
    ),
    e.NotificationFailed: p.NotificationData(
        channel="webhook",
        target="https://hooks.example/T2",
        attempt=3,
        about_event_id=uuid5(NAMESPACE, "about"),
        error="HTTP 503",
    ),
    e.AlertCorrelated: p.AlertCorrelatedData(
        source="alertmanager",
        dedup_key="checkout-502",
        fingerprint="abc123",
        labels={"severity": "critical"},
        count=4,
        last_seen_at=at(20),
    ),
    e.AlertsRecorded: p.AlertsRecordedData(
        source="alertmanager",
        dedup_key='alertmanager/incidents/{}:{alertname="CheckoutErrors"}',
        receiver="incidents",
        group_key='{}:{alertname="CheckoutErrors"}',
        part=1,
        parts=2,
        alerts=[
            p.RecordedAlert(
                fingerprint="f00d", status=AlertStatus.FIRING, labels={"instance": "host0"}, starts_at=at(1)
            ),
            p.RecordedAlert(fingerprint="beef", status=AlertStatus.RESOLVED, labels={}, starts_at=at(1), ends_at=at(9)),
        ],
    ),
    e.IncidentLinked: p.LinkedData(other_incident_id=OTHER_INCIDENT_ID, relation=LinkRelation.CAUSED_BY),
    e.IncidentResolved: p.ResolvedData(
        resolution_code=ResolutionCode.WORKAROUND, root_cause="expired certificate", summary="rotated the cert"
    ),
    e.IncidentReopened: p.ReopenedData(reason="errors are back"),
    e.IncidentClosed: p.EmptyData(),
    e.ReviewCompleted: p.ReviewCompletedData(
        summary="certificate expiry was not monitored",
        action_items=[p.ActionItem(title="alert on cert expiry", owner="sre", due=date(2026, 2, 1))],
    ),
}
