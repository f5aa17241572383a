"""`evolve(state, event) -> state`: how each accepted event changes an incident. Pure."""

from collections.abc import Callable
from typing import Any, TypeVar

from incidents_shared.domain import events as e
from incidents_shared.domain.alert_tracking import recorded
from incidents_shared.domain.enums import SlaTarget, Source, Status
from incidents_shared.domain.state import Incident, Link

E = TypeVar("E", bound=e.EventBase)
Evolver = Callable[[Incident, Any], dict[str, Any]]
Changes = Callable[[Incident, E], dict[str, Any]]
_EVOLVERS: dict[type[e.EventBase], Evolver] = {}


def evolves(cls: type[E]) -> Callable[[Changes[E]], Changes[E]]:
    def register(fn: Changes[E]) -> Changes[E]:
        _EVOLVERS[cls] = fn
        return fn

    return register


def start(event: e.IncidentLogged, **also: Any) -> Incident:
    """The state an `incident.logged` event creates (with the fields in `also` set too)."""
    d = event.data
    return Incident(
        incident_id=event.incident_id,
        title=d.title,
        description=d.description,
        service=d.service,
        source=d.source,
        reporter=d.reporter,
        labels=d.labels,
        dedup_key=d.dedup_key,
        runbook_url=d.runbook_url,
        category=d.category,
        subcategory=d.subcategory,
        impact=d.impact,
        urgency=d.urgency,
        priority=d.priority,
        detected_at=d.detected_at,
        logged_at=event.occurred_at,
        updated_at=event.recorded_at,
        alert_count=1 if d.source is Source.ALERT else 0,  # the alert that opened it is its first occurrence
        last_alert_at=event.occurred_at if d.source is Source.ALERT else None,
        **also,
    )


def evolve(state: Incident | None, event: e.EventBase, **also: Any) -> Incident:
    """Apply one accepted event. Preconditions were checked by the caller.

    `also`: fields the caller sets in the same step (the fold's version, revision and hash: one copy, not two).
    """
    if isinstance(event, e.IncidentLogged):
        return start(event, **also)
    assert state is not None, "only incident.logged starts a stream"
    changes = _EVOLVERS[type(event)](state, event)
    return state.model_copy(update={**changes, "updated_at": event.recorded_at, **also})


def _nothing(state: Incident, event: e.EventBase) -> dict[str, Any]:
    return {}


for _cls in (e.StakeholderUpdatePosted, e.NotificationSent, e.NotificationFailed):
    _EVOLVERS[_cls] = _nothing


@evolves(e.IncidentCategorized)
def _categorized(state: Incident, event: e.IncidentCategorized) -> dict[str, Any]:
    return {"category": event.data.category, "subcategory": event.data.subcategory}


@evolves(e.IncidentPrioritized)
def _prioritized(state: Incident, event: e.IncidentPrioritized) -> dict[str, Any]:
    d = event.data
    return {"impact": d.impact, "urgency": d.urgency, "priority": d.priority, "priority_overridden": d.overridden}


@evolves(e.IncidentAssigned)
def _assigned(state: Incident, event: e.IncidentAssigned) -> dict[str, Any]:
    return {"team": event.data.team, "assignee": event.data.assignee}


@evolves(e.IncidentAcknowledged)
def _acknowledged(state: Incident, event: e.IncidentAcknowledged) -> dict[str, Any]:
    changes: dict[str, Any] = {"status": Status.ACKNOWLEDGED, "acknowledged_at": event.occurred_at}
    if event.data.page_link is not None:
        changes["page_links_used"] = state.page_links_used | {event.data.page_link}
    return changes


@evolves(e.IncidentPaged)
def _paged(state: Incident, event: e.IncidentPaged) -> dict[str, Any]:
    return {}  # a page changes nothing about the incident; the log and the outbox keep it


@evolves(e.InvestigationStarted)
def _investigating(state: Incident, event: e.InvestigationStarted) -> dict[str, Any]:
    return {"status": Status.INVESTIGATING, "investigating_at": event.occurred_at}


@evolves(e.NoteAdded)
def _note(state: Incident, event: e.NoteAdded) -> dict[str, Any]:
    changes: dict[str, Any] = {"notes_count": state.notes_count + 1}
    if event.data.kind == "root_cause":
        changes["root_cause"] = event.data.text
    return changes


@evolves(e.PutOnHold)
def _on_hold(state: Incident, event: e.PutOnHold) -> dict[str, Any]:
    return {"status": Status.ON_HOLD, "hold_reason": event.data.reason, "on_hold_since": event.occurred_at}


@evolves(e.IncidentResumed)
def _resumed(state: Incident, event: e.IncidentResumed) -> dict[str, Any]:
    return {
        "status": Status.INVESTIGATING,
        "hold_reason": None,
        "on_hold_since": None,
        "on_hold_total_seconds": state.on_hold_until(event.occurred_at).total_seconds(),
    }


@evolves(e.MajorDeclared)
def _major(state: Incident, event: e.MajorDeclared) -> dict[str, Any]:
    return {"major": True}


@evolves(e.IncidentEscalated)
def _escalated(state: Incident, event: e.IncidentEscalated) -> dict[str, Any]:
    d = event.data
    return {
        "escalation_level": max(state.escalation_level, d.level),
        "team": d.target_team,
        "assignee": d.target_person or state.assignee,
    }


@evolves(e.SlaTargetsSet)
def _sla_targets(state: Incident, event: e.SlaTargetsSet) -> dict[str, Any]:
    d = event.data
    return {
        "ack_due_at": d.ack_due_at,
        "resolve_due_at": d.resolve_due_at,
        "sla_policy_id": d.policy_id,
        "sla_policy_version": d.policy_version,
    }


@evolves(e.SlaBreached)
def _breached(state: Incident, event: e.SlaBreached) -> dict[str, Any]:
    return {"breached": state.breached | {SlaTarget(event.data.target)}}


@evolves(e.AlertCorrelated)
def _alert(state: Incident, event: e.AlertCorrelated) -> dict[str, Any]:
    return {"alert_count": max(state.alert_count + 1, event.data.count), "last_alert_at": event.data.last_seen_at}


@evolves(e.AlertsRecorded)
def _alerts_recorded(state: Incident, event: e.AlertsRecorded) -> dict[str, Any]:
    return {**recorded(state, event.data), "last_alert_at": event.occurred_at}


@evolves(e.IncidentLinked)
def _linked(state: Incident, event: e.IncidentLinked) -> dict[str, Any]:
    link = Link(other_incident_id=event.data.other_incident_id, relation=event.data.relation)
    return {"links": (*state.links, link)}


@evolves(e.IncidentResolved)
def _resolved(state: Incident, event: e.IncidentResolved) -> dict[str, Any]:
    d = event.data
    held = state.on_hold_until(event.occurred_at).total_seconds()
    return {
        "status": Status.RESOLVED,
        "resolved_at": event.occurred_at,
        "resolution_code": d.resolution_code,
        "root_cause": d.root_cause or state.root_cause,
        "resolution_summary": d.summary,
        "hold_reason": None,
        "on_hold_since": None,
        "on_hold_total_seconds": held,
    }


@evolves(e.IncidentReopened)
def _reopened(state: Incident, event: e.IncidentReopened) -> dict[str, Any]:
    return {
        "status": Status.INVESTIGATING,
        "resolved_at": None,
        "resolution_code": None,
        "resolution_summary": None,
        "reopen_count": state.reopen_count + 1,
        "breached": state.breached - {SlaTarget.RESOLVE},  # the new resolve target can be breached again
    }


@evolves(e.IncidentClosed)
def _closed(state: Incident, event: e.IncidentClosed) -> dict[str, Any]:
    return {"status": Status.CLOSED, "closed_at": event.occurred_at}


@evolves(e.ReviewCompleted)
def _review(state: Incident, event: e.ReviewCompleted) -> dict[str, Any]:
    return {"review_summary": event.data.summary, "action_items": tuple(event.data.action_items)}
