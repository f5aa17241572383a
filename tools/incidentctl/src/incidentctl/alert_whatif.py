"""The alert grouping what-if (`incidentctl simulate --alert-mapping`): the alerts recorded on the log replayed
under two alert mappings, incidents opened and pages sent side by side. Pure: no I/O, no clock.

The alerts are those the log accepted on incidents: the first alert of an incident it opened (`incident.logged`
from an alert), `incident.alert_correlated`, each alert of `incident.alerts_recorded`, and a single alert's
auto-resolve. They are replayed in time order under each mapping's grouping rules (0077); Alertmanager groups
stay the groups they were (0074). Approximations, said in the report: an incident closes when its last alert
resolves (as auto-resolve does when nobody acknowledged it), reopens when an alert fires again within the reopen
window; pages are the first page of each incident whose (highest) priority has a step at 0s in the current
policy, one per incident; escalations, repeats, storm digests, calendars and overrides are left out
(`simulate --policy` replays those).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from incidents_shared.domain import events as e
from incidents_shared.domain.alert_grouping import key_of, matching_rule
from incidents_shared.domain.alerts import AlertMapping
from incidents_shared.domain.enums import AlertStatus, Priority, ResolutionCode, Source
from incidents_shared.domain.escalation.policy import Policy
from incidents_shared.domain.priority import is_higher, priority_for
from incidents_shared.domain.timeutil import format_utc

SIDES = ("current", "candidate")
AUTO = ResolutionCode.AUTO_RESOLVED
KEPT_GROUPS = "alertmanager/"  # Alertmanager's notification groups are replayed as the groups they were
PAGES = (
    "approximate: one page per incident whose highest priority has a step at 0s in the current policy "
    "(escalations, repeats, storm digests, calendars and overrides left out)"
)


@dataclass(frozen=True)
class Arrival:
    """One alert as the log recorded it; `priority` is the one its incident was logged at (first alerts only)."""

    at: datetime
    source: str
    service: str
    dedup_key: str
    fingerprint: str
    firing: bool
    labels: dict[str, str]
    priority: Priority | None = None


def arrivals(histories: dict[UUID, list[e.EventBase]]) -> list[Arrival]:
    """Every alert the log recorded on incidents, in time order (the log's order within an incident)."""
    found: list[tuple[datetime, int, Arrival]] = []
    for events in histories.values():
        opening = next((ev for ev in events if isinstance(ev, e.IncidentLogged)), None)
        if opening is None or opening.data.source is not Source.ALERT:
            continue
        for order, arrival in enumerate(_of_incident(opening, events)):
            found.append((arrival.at, order, arrival))
    return [arrival for _, _, arrival in sorted(found, key=lambda item: (item[0], item[1]))]


def _of_incident(opening: e.IncidentLogged, events: list[e.EventBase]) -> list[Arrival]:
    """An incident's alerts. One opened by a single alert is that alert's key: its refires correlate, and its
    resolution at the source is the auto-resolve it made (with the key as fingerprint)."""
    d = opening.data
    key, service = d.dedup_key or str(opening.incident_id), d.service
    grouped = key.startswith((KEPT_GROUPS, "grouped/"))  # a group's opening is no alert: its alerts are recorded
    later = [ev for ev in events if isinstance(ev, e.AlertCorrelated)]
    source = later[0].data.source if later else "generic"  # the first alert's source is not recorded
    first = Arrival(opening.occurred_at, source, service, key, key, True, dict(d.labels), d.priority)
    found = [] if grouped else [first]
    for ev in events:
        if isinstance(ev, e.AlertCorrelated):
            c = ev.data
            firing = c.status is AlertStatus.FIRING
            fingerprint = c.fingerprint if grouped else key
            found.append(Arrival(ev.occurred_at, c.source, service, c.dedup_key, fingerprint, firing, dict(c.labels)))
        elif isinstance(ev, e.AlertsRecorded):
            r = ev.data
            found.extend(
                Arrival(ev.occurred_at, r.source, service, r.dedup_key, x.fingerprint,
                        x.status is AlertStatus.FIRING, dict(x.labels))
                for x in r.alerts
            )  # fmt: skip
        elif isinstance(ev, e.IncidentResolved) and not grouped and ev.data.resolution_code is AUTO:
            found.append(Arrival(ev.occurred_at, source, service, key, key, False, dict(d.labels)))
    return found


@dataclass
class _Incident:
    last_at: datetime
    priority: Priority
    paged: bool
    open: bool = True
    closed_at: datetime | None = None
    firing: dict[str, bool] = field(default_factory=dict)


@dataclass
class Tally:
    incidents: int = 0
    pages: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"incidents": self.incidents, "pages": self.pages}


def pages_at_once(policy: Policy, priority: Priority) -> bool:
    """The policy pages someone as soon as an incident of `priority` is logged: a step at 0s."""
    rule = policy.rule(priority)
    return rule is not None and any(step.after == timedelta(0) for step in rule.steps)


def _priority(arrival: Arrival, mapping: AlertMapping) -> Priority:
    if arrival.priority is not None:
        return arrival.priority
    levels = mapping.levels(arrival.labels.get(mapping.severity_label) or mapping.default_severity)
    return priority_for(levels.impact, levels.urgency)


def _route(arrival: Arrival, mapping: AlertMapping) -> tuple[str, int | None]:
    """The key an alert's incidents go by under `mapping`, and its grouping rule's window (None: no rule)."""
    if arrival.dedup_key.startswith(KEPT_GROUPS):
        return arrival.dedup_key, None
    service = arrival.labels.get(mapping.service_label) or arrival.service
    rule = matching_rule(mapping, arrival.source, service, arrival.labels)
    if rule is None:
        return arrival.dedup_key, None
    return key_of(rule, service, arrival.labels), rule.window


def replay(alerts: list[Arrival], mapping: AlertMapping, policy: Policy) -> list[_Incident]:
    """The incidents the alerts open under `mapping`, in the order they open."""
    by_key: dict[str, list[_Incident]] = {}  # a key's incidents, the latest last
    opened: list[_Incident] = []
    reopen = timedelta(seconds=mapping.policy.reopen_window_s)
    for arrival in alerts:
        key, window = _route(arrival, mapping)
        episodes = by_key.setdefault(key, [])
        current = episodes[-1] if episodes else None
        if arrival.firing and _opens(current, arrival, window, reopen):
            priority = _priority(arrival, mapping)
            current = _Incident(arrival.at, priority, pages_at_once(policy, priority))
            episodes.append(current)
            opened.append(current)
        elif not arrival.firing and current is not None and not current.firing.get(arrival.fingerprint, False):
            # a resolved alert goes to the latest earlier open incident that has it firing (0077)
            current = next((i for i in reversed(episodes) if i.open and i.firing.get(arrival.fingerprint)), current)
        if current is not None:
            _apply(current, arrival, mapping, policy)
    return opened


def _opens(current: _Incident | None, arrival: Arrival, window: int | None, reopen: timedelta) -> bool:
    if current is None:
        return True
    if not current.open:
        return current.closed_at is None or arrival.at - current.closed_at > reopen
    expired = window is not None and arrival.at - current.last_at > timedelta(seconds=window)
    return expired and not current.firing.get(arrival.fingerprint, False)


def _apply(incident: _Incident, arrival: Arrival, mapping: AlertMapping, policy: Policy) -> None:
    """An alert on its incident: recorded when it changes something, the priority raised, closed when none fires."""
    if incident.firing.get(arrival.fingerprint) is arrival.firing and incident.open:
        return
    incident.firing[arrival.fingerprint] = arrival.firing
    incident.last_at = arrival.at
    if arrival.firing:
        incident.open = True
        priority = _priority(arrival, mapping)
        if is_higher(priority, incident.priority):
            incident.priority = priority
            incident.paged = incident.paged or pages_at_once(policy, priority)
    elif incident.open and not any(incident.firing.values()):
        incident.open, incident.closed_at = False, arrival.at


def simulate_alerts(
    histories: dict[UUID, list[e.EventBase]],
    mappings: dict[str, AlertMapping],
    policy: Policy,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    """The alerts recorded in [since, until] replayed under each mapping ("current", "candidate"): the report."""
    alerts = [a for a in arrivals(histories) if (since is None or a.at >= since) and (until is None or a.at <= until)]
    priorities: dict[str, dict[str, Tally]] = {}
    totals = {side: Tally() for side in SIDES}
    for side in SIDES:
        for incident in replay(alerts, mappings[side], policy):
            for tally in (priorities.setdefault(incident.priority.value, {s: Tally() for s in SIDES})[side],
                          totals[side]):  # fmt: skip
                tally.incidents += 1
                tally.pages += int(incident.paged)
    return {
        "since": format_utc(since) if since else None,
        "until": format_utc(until) if until else None,
        "alerts": len(alerts),
        "mappings": {side: {"version": m.version, "grouping_rules": len(m.grouping)} for side, m in mappings.items()},
        "policy": {"id": policy.id, "version": policy.version},
        "pages": PAGES,
        "priorities": {p: {side: t.as_dict() for side, t in sides.items()} for p, sides in sorted(priorities.items())},
        "total": {side: tally.as_dict() for side, tally in totals.items()},
    }


def render_text(report: dict[str, Any]) -> str:
    maps = report["mappings"]
    lines = [
        *(
            f"{side:<9} alert mapping v{maps[side]['version']} ({maps[side]['grouping_rules']} grouping rules)"
            for side in SIDES
        ),
        f"{report['alerts']} alerts replayed from {report['since'] or 'the start of the log'} "
        f"to {report['until'] or 'the end of the log'}",
        f"pages: {report['pages']}, policy {report['policy']['id']} v{report['policy']['version']}",
        "",
        f"{'priority':<9} {'metric':<10} {'current':>10} {'candidate':>10} {'change':>10}",
    ]
    for priority, sides in [*report["priorities"].items(), ("total", report["total"])]:
        for metric in ("incidents", "pages"):
            a, b = sides["current"][metric], sides["candidate"][metric]
            lines.append(f"{priority:<9} {metric:<10} {a:>10} {b:>10} {b - a:>+10}")
    return "\n".join(lines) + "\n"
