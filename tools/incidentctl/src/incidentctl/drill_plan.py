"""Turning an incident's accepted events into the commands that replay it as a drill (pure, no I/O)."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from incidents_shared.domain import events as e
from incidents_shared.domain.enums import EscalationReason
from incidents_shared.domain.events import BOOKKEEPING_TYPES, EventBase, event_type

DRILL_PREFIX = "[drill] "
TITLE_MAX = 200
LABELS_MAX = 64


@dataclass(frozen=True)
class Step:
    """One command of the drill: `action` is None for logging the incident, else the path after /incidents/{id}/."""

    event_type: str
    action: str | None
    body: dict[str, Any]
    occurred_at: datetime

    @property
    def name(self) -> str:
        return self.action or "log"


def _data(event: EventBase) -> dict[str, Any]:
    data: dict[str, Any] = event.model_dump(mode="json", exclude_none=True).get("data", {})
    return data


def _log_body(event: e.IncidentLogged, source_id: UUID) -> dict[str, Any]:
    d = event.data
    labels = dict(d.labels)
    if len(labels) < LABELS_MAX:
        labels["drill_from"] = str(source_id)
    body: dict[str, Any] = {
        "title": (DRILL_PREFIX + d.title)[:TITLE_MAX],
        "description": d.description,
        "service": d.service,
        "labels": labels,
        "drill": True,
    }
    optional = {
        "dedup_key": d.dedup_key,
        "category": d.category,
        "subcategory": d.subcategory,
        "impact": d.impact,
        "urgency": d.urgency,
        "runbook_url": d.runbook_url,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


def _prioritize_body(event: e.IncidentPrioritized) -> dict[str, Any]:
    d = event.data
    body: dict[str, Any] = {"impact": d.impact.value, "urgency": d.urgency.value}
    if d.overridden:
        body.update(override_priority=d.priority.value, reason=d.reason)
    return body


def _escalate_body(event: e.IncidentEscalated) -> dict[str, Any]:
    d = event.data
    body = {
        "target_team": d.target_team,
        "target_person": d.target_person,
        "target_schedule": d.target_schedule,
        "comment": d.comment,
    }
    return {k: v for k, v in body.items() if v is not None}


def _acknowledge_body(event: e.IncidentAcknowledged) -> dict[str, Any]:
    """A page link's acknowledgement is rehearsed as a plain one: the drill's pages have links of their own."""
    return {"comment": event.data.comment} if event.data.comment is not None else {}


# Events whose command body is the event's data as it stands (fields named alike).
_SAME_BODY: dict[str, str] = {
    "incident.categorized": "categorize",
    "incident.assigned": "assign",
    "incident.investigation_started": "investigate",
    "incident.note_added": "notes",
    "incident.put_on_hold": "hold",
    "incident.resumed": "resume",
    "incident.major_declared": "declare-major",
    "incident.stakeholder_update_posted": "updates",
    "incident.resolved": "resolve",
    "incident.reopened": "reopen",
    "incident.closed": "close",
    "incident.review_completed": "review",
}


def step_for(event: EventBase, source_id: UUID) -> Step | None:
    """The command that reproduces one event, or None for what the system does on its own."""
    kind = event_type(type(event))
    if kind in BOOKKEEPING_TYPES:
        return None
    if isinstance(event, e.IncidentLogged):
        return Step(kind, None, _log_body(event, source_id), event.occurred_at)
    if isinstance(event, e.IncidentPrioritized):
        return Step(kind, "prioritize", _prioritize_body(event), event.occurred_at)
    if isinstance(event, e.IncidentEscalated):
        if event.data.reason is not EscalationReason.MANUAL:
            return None  # the escalator's policy escalates the drill by itself
        return Step(kind, "escalate", _escalate_body(event), event.occurred_at)
    if isinstance(event, e.IncidentAcknowledged):
        return Step(kind, "acknowledge", _acknowledge_body(event), event.occurred_at)
    action = _SAME_BODY.get(kind)
    if action is None:
        return None  # links point at other incidents: not part of a drill
    return Step(kind, action, _data(event), event.occurred_at)


def plan(events: list[EventBase], source_id: UUID) -> list[Step]:
    """The drill's commands in the order of the original's accepted events."""
    return [step for step in (step_for(event, source_id) for event in events) if step is not None]


def wait_before(steps: list[Step], index: int, speed: float) -> timedelta:
    """Time to wait before a step: the original gap divided by `speed`; nothing when speed is 0."""
    if index == 0 or speed <= 0:
        return timedelta(0)
    gap = steps[index].occurred_at - steps[index - 1].occurred_at
    return max(timedelta(0), gap / speed)
