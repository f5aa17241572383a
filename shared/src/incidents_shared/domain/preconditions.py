"""The one table that says which event is allowed in which state.

`decide` consults it before anything is appended; the fold consults it again at the event's place in the
log, so a command that raced another one is judged on the state it actually lands on.
"""

from collections.abc import Callable
from dataclasses import dataclass

from incidents_shared.domain import events as e
from incidents_shared.domain.enums import OPEN_STATUSES, EscalationReason, PageReason, SlaTarget, Status
from incidents_shared.domain.state import Incident

Guard = Callable[[Incident, e.EventBase], str | None]
ABSENT = None  # the "state" of an incident that has not been logged yet


@dataclass(frozen=True)
class Rule:
    allowed: frozenset[Status | None]
    guard: Guard | None = None


def _escalation(state: Incident, event: e.EventBase) -> str | None:
    assert isinstance(event, e.IncidentEscalated)
    data = event.data
    if data.reason is EscalationReason.ACK_SLA and state.status is not Status.NEW:
        return "incident was acknowledged before the acknowledge-SLA escalation"
    if data.reason is EscalationReason.RESOLVE_SLA and state.status is Status.ON_HOLD:
        return "incident is on hold; the resolve clock is paused"
    if data.reason is not EscalationReason.MANUAL and data.level <= state.escalation_level:
        return f"incident is already at escalation level {state.escalation_level}"
    return None


def _acknowledge(state: Incident, event: e.EventBase) -> str | None:
    assert isinstance(event, e.IncidentAcknowledged)
    if event.data.page_link is not None and event.data.page_link in state.page_links_used:
        return "this page link was used already"
    return None


def _page(state: Incident, event: e.EventBase) -> str | None:
    """A page stops at the acknowledgement: a policy step's page entirely, any page's later contact methods.

    A storm's digest is about the incidents it lists, not about the one whose log carries it: any status will do.
    """
    assert isinstance(event, e.IncidentPaged)
    if event.data.reason is PageReason.DIGEST:
        return None
    if state.status not in OPEN_STATUSES:
        return f"incident.paged is not allowed when the incident is {state.status}"
    if state.status is Status.NEW:
        return None
    if event.data.reason is PageReason.STEP:
        return "incident was acknowledged before this page went out"
    if event.data.contact.index > 0:
        return "incident was acknowledged: later contact methods of the page are cancelled"
    return None


def _breach(state: Incident, event: e.EventBase) -> str | None:
    assert isinstance(event, e.SlaBreached)
    if event.data.target in state.breached:
        return f"{event.data.target} target already breached"
    if event.data.target is SlaTarget.ACKNOWLEDGE and state.status is not Status.NEW:
        return "incident was acknowledged in time"
    if event.data.target is SlaTarget.RESOLVE and state.status is Status.ON_HOLD:
        return "incident is on hold; the resolve clock is paused"
    return None


def _link(state: Incident, event: e.EventBase) -> str | None:
    assert isinstance(event, e.IncidentLinked)
    if event.data.other_incident_id == state.incident_id:
        return "an incident cannot be linked to itself"
    if any(link.other_incident_id == event.data.other_incident_id for link in state.links):
        return "incidents are already linked"
    return None


def _major(state: Incident, event: e.EventBase) -> str | None:
    return "incident is already a major incident" if state.major else None


_OPEN: frozenset[Status | None] = frozenset(OPEN_STATUSES)
_OPEN_OR_RESOLVED = _OPEN | {Status.RESOLVED}
_ANY = _OPEN_OR_RESOLVED | {Status.CLOSED}


def _only(*statuses: Status) -> frozenset[Status | None]:
    return frozenset(statuses)


PRECONDITIONS: dict[type[e.EventBase], Rule] = {
    e.IncidentLogged: Rule(frozenset({ABSENT})),
    e.IncidentCategorized: Rule(_OPEN_OR_RESOLVED),
    e.IncidentPrioritized: Rule(_OPEN),
    e.IncidentAssigned: Rule(_OPEN),
    e.IncidentAcknowledged: Rule(_only(Status.NEW), _acknowledge),
    e.InvestigationStarted: Rule(_only(Status.ACKNOWLEDGED)),
    e.NoteAdded: Rule(_OPEN_OR_RESOLVED),
    e.PutOnHold: Rule(_only(Status.INVESTIGATING)),
    e.IncidentResumed: Rule(_only(Status.ON_HOLD)),
    e.MajorDeclared: Rule(_OPEN, _major),
    e.IncidentEscalated: Rule(_OPEN, _escalation),
    e.IncidentPaged: Rule(_ANY, _page),  # open only, but for a storm's digest (_page)
    e.SlaTargetsSet: Rule(_OPEN),
    e.SlaBreached: Rule(_OPEN, _breach),
    e.StakeholderUpdatePosted: Rule(_OPEN_OR_RESOLVED),
    e.NotificationSent: Rule(_ANY),
    e.NotificationFailed: Rule(_ANY),
    e.AlertCorrelated: Rule(_ANY),
    e.AlertsRecorded: Rule(_ANY),
    e.IncidentLinked: Rule(_ANY, _link),
    e.IncidentResolved: Rule(_OPEN),
    e.IncidentReopened: Rule(_only(Status.RESOLVED)),
    e.IncidentClosed: Rule(_only(Status.RESOLVED)),
    e.ReviewCompleted: Rule(_only(Status.RESOLVED, Status.CLOSED)),
}


def violation(state: Incident | None, event: e.EventBase) -> str | None:
    """Why `event` is not allowed on `state`, or None when it is."""
    rule = PRECONDITIONS[type(event)]
    status = state.status if state is not None else ABSENT
    if status not in rule.allowed:
        name = e.event_type(type(event))
        if state is None:
            return f"{name} needs an existing incident"
        return f"{name} is not allowed when the incident is {status}"
    if state is not None and rule.guard is not None:
        return rule.guard(state, event)
    return None
