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
    "incident.acknowledged": ("comment",),
    "incident.investigation_started": ("comment",),
    "incident.resumed": ("comment",),
    "incident.closed": ("comment",),
    "incident.major_declared": ("reason",),
    "incident.alert_correlated": ("source", "dedup_key", "status", "count"),
    "incident.alerts_recorded": ("source", "dedup_key", "part", "parts"),
    "incident.linked": ("relation", "other_incident_id"),
    "incident.resolved": ("resolution_code", "summary", "root_cause"),
    "incident.reopened": ("reason",),
    "incident.paged": ("user", "reason", "level", "team"),
    "incident.review_completed": ("summary",),
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
    "link": e.IncidentLinked,
    "review": e.ReviewCompleted,
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
    if kind == "incident.alerts_recorded":
        details += (("alerts", str(len(data.get("alerts") or []))),)
    if kind == "incident.review_completed":
        items = data.get("action_items") or []
        details += tuple(("action item", f"{i.get('title')} ({i.get('owner')}, due {i.get('due')})") for i in items)
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


# --- the incident page's header and sections ------------------------------------------------------------------


@dataclass(frozen=True)
class PageShown:
    """One page (incident.paged): who, at which level, why, by which contact method, when, and whether its
    signed link acknowledged the incident (`held`: consolidated into a digest in a paging storm)."""

    person: str
    level: int | None
    reason: str
    contact: str
    at: str
    acknowledged: bool
    held: bool


def pages(events: Iterable[Mapping[str, Any]], links_used: Iterable[Any], names: Mapping[str, str]) -> list[PageShown]:
    used = {str(link) for link in links_used}
    shown = []
    for event in of_type(events, "incident.paged"):
        data = event.get("data") or {}
        shown.append(
            PageShown(
                who({"id": data.get("user", "?")}, names),
                data.get("level"),
                str(data.get("reason", "")),
                str((data.get("contact") or {}).get("kind", "")),
                str(event.get("occurred_at", "")),
                str(data.get("page_id")) in used,
                data.get("consolidated_into") is not None,
            )
        )
    return shown


def grouped(
    events: Iterable[Mapping[str, Any]], kind: str, key: str, order: Iterable[str] = ()
) -> list[tuple[str, list[Mapping[str, Any]]]]:
    """The events of `kind` grouped by their data's `key`: the `order` given first (empty groups left out),
    then any other value in the order first seen."""
    groups: dict[str, list[Mapping[str, Any]]] = {name: [] for name in order}
    for event in of_type(events, kind):
        groups.setdefault(str((event.get("data") or {}).get(key, "")), []).append(event)
    return [(name, found) for name, found in groups.items() if found]


def web_link(url: str | None) -> bool:
    """Whether a URL may become a link: http(s) only (a javascript: or data: URL is shown as text)."""
    return bool(url) and str(url).lower().startswith(("https://", "http://"))


RELATIONS = {"duplicate_of": "duplicate of", "caused_by": "caused by", "related": "related to"}


@dataclass(frozen=True)
class LinkShown:
    """A link between this incident and another, either way: `outgoing` when this incident's log has it."""

    incident_id: str
    relation: str
    outgoing: bool
    title: str
    status: str

    @property
    def sentence(self) -> str:
        """How the relation reads from this incident's page."""
        said = RELATIONS.get(self.relation, self.relation)
        return f"this incident is {said}" if self.outgoing else f"is {said} this incident"


def links(incident: Incident, linking: Iterable[Incident], others: Mapping[str, Incident]) -> list[LinkShown]:
    """This incident's links (to `others`, by id) and the links of `linking` incidents to it."""
    shown = []
    for link in incident.links:
        other = others.get(str(link.other_incident_id))
        title, status = (other.title, other.status.value) if other else ("(unknown incident)", "–")
        shown.append(LinkShown(str(link.other_incident_id), link.relation.value, True, title, status))
    shown += [
        LinkShown(str(other.incident_id), link.relation.value, False, other.title, other.status.value)
        for other in linking
        for link in other.links
        if link.other_incident_id == incident.incident_id
    ]
    return shown


# --- forms to commands ----------------------------------------------------------------------------------------

ITEM_FIELDS = ("title", "owner", "due")
ITEM_ROWS = 3  # the review form's empty action-item rows; "add more rows" adds as many again


def item_rows(fields: Mapping[str, str]) -> int:
    """How many action-item rows the review form shows: those the person sent (and filled), plus asked-for more."""
    sent = [int(k.split("-")[1]) for k in fields if k.startswith("item-") and k.split("-")[1].isdigit()]
    rows = max(sent) + 1 if sent else ITEM_ROWS
    return min(max(rows, ITEM_ROWS) + (ITEM_ROWS if "more" in fields else 0), 100)


def command_body(fields: Mapping[str, str], form_only: Iterable[str]) -> dict[str, Any]:
    """A form's fields as a command's body: empty fields left out; the review's rows `item-N-title/owner/due`
    become `action_items`, a row left wholly empty skipped."""
    skip = set(form_only) | {"more"}
    body: dict[str, Any] = {
        k: v for k, v in fields.items() if k not in skip and not k.startswith("item-") and v.strip()
    }
    items = []
    for row in range(item_rows(fields)):
        item = {name: fields.get(f"item-{row}-{name}", "").strip() for name in ITEM_FIELDS}
        if any(item.values()):
            items.append({k: v for k, v in item.items() if v})
    if items:
        body["action_items"] = items
    return body
