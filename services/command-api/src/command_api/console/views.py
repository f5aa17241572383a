"""Pure presentation of incidents and their events for the console's templates: no I/O, no clock.

The templates escape everything they print (Jinja2 autoescape), so titles and notes holding HTML are text.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from incidents_shared.domain import events as e
from incidents_shared.domain.authorization import COMMAND_ROLES
from incidents_shared.domain.commands import Command
from incidents_shared.domain.enums import Role
from incidents_shared.domain.preconditions import PRECONDITIONS
from incidents_shared.domain.state import Incident

LABELS: dict[str, str] = {
    "incident.logged": "logged",
    "incident.categorized": "categorized",
    "incident.prioritized": "prioritized",
    "incident.assigned": "assigned",
    "incident.acknowledged": "acknowledged",
    "incident.investigation_started": "started investigating",
    "incident.note_added": "added a note",
    "incident.put_on_hold": "put on hold",
    "incident.resumed": "resumed",
    "incident.major_declared": "declared a major incident",
    "incident.escalated": "escalated",
    "incident.sla_targets_set": "set the SLA targets",
    "incident.sla_breached": "SLA breached",
    "incident.stakeholder_update_posted": "posted a stakeholder update",
    "incident.notification_sent": "notification sent",
    "incident.notification_failed": "notification failed",
    "incident.alert_correlated": "alert correlated",
    "incident.alerts_recorded": "alerts recorded",
    "incident.linked": "linked",
    "incident.resolved": "resolved",
    "incident.reopened": "reopened",
    "incident.closed": "closed",
    "incident.paged": "paged",
    "incident.review_completed": "completed the review",
}
# The data fields worth a line in the timeline, per event type, in the order shown.
DETAILS: dict[str, tuple[str, ...]] = {
    "incident.logged": ("title", "service", "source"),
    "incident.categorized": ("category", "subcategory"),
    "incident.prioritized": ("impact", "urgency", "priority", "reason"),
    "incident.assigned": ("team", "assignee"),
    "incident.note_added": ("kind", "text"),
    "incident.put_on_hold": ("reason", "comment"),
    "incident.escalated": ("level", "target_team", "target_person", "reason", "comment"),
    "incident.sla_targets_set": ("priority", "ack_due_at", "resolve_due_at"),
    "incident.sla_breached": ("target", "due_at"),
    "incident.stakeholder_update_posted": ("audience", "message"),
    "incident.notification_sent": ("channel", "attempt"),
    "incident.notification_failed": ("channel", "attempt", "error"),
    "incident.linked": ("relation", "other"),
    "incident.resolved": ("resolution_code", "summary", "root_cause"),
    "incident.reopened": ("reason",),
    "incident.paged": ("user", "reason", "level"),
}


# The console's actions (routes/commands.py names) and the event each appends first: the preconditions table says
# in which statuses it is allowed, so the page offers only what the log would accept.
ACTION_EVENTS: dict[str, type[e.EventBase]] = {
    "acknowledge": e.IncidentAcknowledged,
    "investigate": e.InvestigationStarted,
    "notes": e.NoteAdded,
    "updates": e.StakeholderUpdatePosted,
    "assign": e.IncidentAssigned,
    "escalate": e.IncidentEscalated,
    "hold": e.PutOnHold,
    "resume": e.IncidentResumed,
    "declare-major": e.MajorDeclared,
    "resolve": e.IncidentResolved,
    "reopen": e.IncidentReopened,
    "close": e.IncidentClosed,
}


def allowed_actions(incident: Incident, role: Role, commands: Mapping[str, type[Command]]) -> frozenset[str]:
    """The actions `role` may take (`commands`: action -> command) whose event the incident's status allows
    (guards, such as "already major", aside)."""
    allowed = {
        action
        for action, event in ACTION_EVENTS.items()
        if incident.status in PRECONDITIONS[event].allowed and role in COMMAND_ROLES[commands[action]]
    }
    return frozenset(allowed - ({"declare-major"} if incident.major else set()))


@dataclass(frozen=True)
class TimelineEntry:
    revision: int
    at: str  # ISO 8601, for <time datetime>
    who: str
    what: str
    details: tuple[tuple[str, str], ...]


def who(actor: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """The person's name when the directory knows them, with their id; otherwise the actor's id."""
    actor_id = str(actor.get("id", "?"))
    name = names.get(actor_id)
    return f"{name} ({actor_id})" if name and name != actor_id else actor_id


def entry(event: Mapping[str, Any], names: Mapping[str, str]) -> TimelineEntry:
    kind = str(event.get("type", ""))
    data = event.get("data") or {}
    details = tuple((k, _text(data[k])) for k in DETAILS.get(kind, ()) if data.get(k) not in (None, ""))
    if kind == "incident.paged":
        contact = data.get("contact") or {}
        details += (("via", _text(contact.get("kind", ""))),) if contact.get("kind") else ()
    if kind == "incident.acknowledged" and data.get("page_link"):
        details += (("via", "page link"),)
    return TimelineEntry(
        int(event.get("revision", 0)),
        str(event.get("occurred_at", "")),
        who(event.get("actor") or {}, names),
        LABELS.get(kind, kind),
        details,
    )


def timeline(events: Iterable[Mapping[str, Any]], names: Mapping[str, str]) -> list[TimelineEntry]:
    return [entry(event, names) for event in events]


def of_type(events: Iterable[Mapping[str, Any]], kind: str) -> list[Mapping[str, Any]]:
    return [event for event in events if event.get("type") == kind]


def changed_since(events: Iterable[Mapping[str, Any]], revision: int, names: Mapping[str, str]) -> list[TimelineEntry]:
    """What people did after `revision`: the conflict view's "what changed"."""
    return [entry(e, names) for e in events if int(e.get("revision", 0)) > revision and e.get("type") in LABELS]


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
