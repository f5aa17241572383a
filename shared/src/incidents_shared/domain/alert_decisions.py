"""Alerts from monitoring, which incident they address, and what they mean for it. Pure: no I/O, no clock.

The payloads and the mapping live in `alerts`; this module routes (episodes, duplicates) and decides.
"""

from datetime import datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

from incidents_shared.domain import events as e
from incidents_shared.domain import payloads as p
from incidents_shared.domain.alerts import AlertPolicy, NormalizedAlert
from incidents_shared.domain.enums import AlertStatus, LinkRelation, NoteKind, ResolutionCode, Source, Status
from incidents_shared.domain.priority import priority_for
from incidents_shared.domain.state import Incident

EPISODE_NS = uuid5(NAMESPACE_URL, "urn:incidents:alert-episode")
Draft = tuple[type[e.EventBase], p.Payload]


# --- routing: which incident an alert addresses -------------------------------------------------------------


def episode_id(dedup_key: str, episode: int) -> UUID:
    """The incident an alert key opens in its `episode`: every racer computes the same id."""
    return uuid5(EPISODE_NS, f"{dedup_key}#{episode}")


def current_episode(dedup_key: str, known: set[UUID]) -> int:
    """The latest episode of the key among the known incident ids, or -1. Episodes are opened in order."""
    episode = -1
    while episode_id(dedup_key, episode + 1) in known:
        episode += 1
    return episode


def duplicate_target(state: Incident) -> UUID | None:
    """Where a closed duplicate sends its alerts: the incident it is a duplicate of."""
    if state.is_open:
        return None
    return next((ln.other_incident_id for ln in state.links if ln.relation is LinkRelation.DUPLICATE_OF), None)


def reopens(state: Incident, policy: AlertPolicy, now: datetime) -> bool:
    """A firing alert reopens an incident it auto-resolved, within the window."""
    return (
        state.status is Status.RESOLVED
        and state.resolution_code is ResolutionCode.AUTO_RESOLVED
        and state.resolved_at is not None
        and now - state.resolved_at <= timedelta(seconds=policy.reopen_window_s)
    )


def needs_new_episode(state: Incident, alert: NormalizedAlert, policy: AlertPolicy, now: datetime) -> bool:
    """A firing alert whose incident is done (and not reopenable) opens a new incident."""
    return opens_next_episode(state, alert.status is AlertStatus.FIRING, policy, now)


def opens_next_episode(state: Incident, firing: bool, policy: AlertPolicy, now: datetime) -> bool:
    """Alerts with one firing among them whose incident is done (and not reopenable) open a new incident."""
    return firing and not state.is_open and not reopens(state, policy, now)


# --- the decision -----------------------------------------------------------------------------------------------


def alert_drafts(
    state: Incident | None, alert: NormalizedAlert, policy: AlertPolicy, reporter: str, now: datetime
) -> list[Draft]:
    """The events an alert means for the incident it addresses; empty when it changes nothing."""
    firing = alert.status is AlertStatus.FIRING
    if state is None:
        return opening_drafts(alert, reporter) if firing else []
    if state.is_open:
        if firing:
            return [(e.AlertCorrelated, _correlated(state, alert, now))]
        if auto_resolves(state, alert, policy):
            return [(e.IncidentResolved, _auto_resolved(alert))]
        return [(e.NoteAdded, p.NoteAddedData(kind=NoteKind.NOTE, text=_resolved_note(state, alert, policy)))]
    if firing and reopens(state, policy, now):
        reason = f"alert {alert.dedup_key} fired again after auto-resolve"[:2000]
        return [
            (e.IncidentReopened, p.ReopenedData(reason=reason)),
            (e.AlertCorrelated, _correlated(state, alert, now)),
        ]
    return []


def pin_opening(events: list[e.EventBase]) -> list[e.EventBase]:
    """The events that follow an alert's `incident.logged` in its batch hold only right after it.

    Each gets the revision it must land on as its expected version, so the batch of a racer whose
    `incident.logged` lost (the incident exists already) is rejected whole instead of assigning again."""
    if not events or not isinstance(events[0], e.IncidentLogged):
        return events
    return [events[0], *(event.model_copy(update={"expected_version": i}) for i, event in enumerate(events) if i)]


def opening_drafts(alert: NormalizedAlert, reporter: str) -> list[Draft]:
    """The incident an alert opens: logged from the alert, and assigned to its team (if it names one)."""
    assigned: list[Draft] = [(e.IncidentAssigned, p.AssignedData(team=alert.team))] if alert.team else []
    return [(e.IncidentLogged, _logged(alert, reporter)), *assigned]


def auto_resolves(state: Incident, alert: NormalizedAlert, policy: AlertPolicy) -> bool:
    """Resolved at the source: resolve automatically what this alert opened and nobody acknowledged.

    An alert routed here from a duplicate (another key) never resolves the surviving incident."""
    return left_open_because(state, alert.dedup_key, policy) is None


def left_open_because(state: Incident, dedup_key: str, policy: AlertPolicy) -> str | None:
    """Why alerts of `dedup_key` resolved at the source leave the incident open; None: they resolve it."""
    if not policy.auto_resolve_unacknowledged:
        return "auto-resolve is off"
    if state.source is not Source.ALERT:
        return "the incident was not opened by an alert"
    if state.dedup_key != dedup_key:
        return "the incident was opened by another alert"
    if state.acknowledged_at is not None:
        return "the incident was acknowledged"
    return None


def _logged(alert: NormalizedAlert, reporter: str) -> p.LoggedData:
    labels = dict(alert.labels)
    if alert.team and len(labels) < 64:
        labels.setdefault("team", alert.team)
    return p.LoggedData(
        title=alert.summary,
        description=alert.description,
        service=alert.service,
        source=Source.ALERT,
        reporter=reporter,
        detected_at=alert.starts_at,
        labels=labels,
        dedup_key=alert.dedup_key,
        category=alert.category,
        impact=alert.impact,
        urgency=alert.urgency,
        priority=priority_for(alert.impact, alert.urgency),
        runbook_url=alert.runbook_url,
    )


def _correlated(state: Incident, alert: NormalizedAlert, now: datetime) -> p.AlertCorrelatedData:
    return p.AlertCorrelatedData(
        source=alert.source,
        dedup_key=alert.dedup_key,
        fingerprint=alert.fingerprint,
        labels=alert.labels,
        count=state.alert_count + 1,
        status=alert.status,
        last_seen_at=now,
    )


def _auto_resolved(alert: NormalizedAlert) -> p.ResolvedData:
    when = f" at {alert.ends_at.isoformat()}" if alert.ends_at else ""
    summary = f"Auto-resolved: {alert.source} reported alert {alert.dedup_key} resolved{when}"
    return p.ResolvedData(resolution_code=ResolutionCode.AUTO_RESOLVED, summary=summary)


def _resolved_note(state: Incident, alert: NormalizedAlert, policy: AlertPolicy) -> str:
    why = left_open_because(state, alert.dedup_key, policy)
    when = f" at {alert.ends_at.isoformat()}" if alert.ends_at else ""
    return f"Alert {alert.dedup_key} ({alert.source}) resolved at the source{when}; left open because {why}."
