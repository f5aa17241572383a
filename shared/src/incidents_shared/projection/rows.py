"""How the folded state and the verdicts become rows."""

from collections.abc import Iterator
from typing import Any

from incidents_shared.db import JsonText
from incidents_shared.domain.events import (
    TYPE_OF,
    AlertCorrelated,
    AlertsRecorded,
    EventBase,
    IncidentLogged,
    NoteAdded,
)
from incidents_shared.domain.fold import Verdict
from incidents_shared.domain.state import Incident

EVENT_COLUMNS = (
    "event_id",
    "incident_id",
    "version",
    "revision",
    "type",
    "occurred_at",
    "recorded_at",
    "actor_id",
    "event",
    "prev_hash",
    "hash",
    "partition",
    "offset",
    "position",
)
VERDICT_COLUMNS = (
    "event_id",
    "incident_id",
    "type",
    "verdict",
    "reason",
    "version",
    "revision",
    "hash",
    "request_hash",
    "partition",
    "offset",
    "actor_id",  # who wrote it: whose verdict it is to read (0090)
)
INCIDENT_COLUMNS = (
    "incident_id",
    "version",
    "revision",
    "last_hash",
    "status",
    "title",
    "service",
    "source",
    "priority",
    "category",
    "team",
    "assignee",
    "major",
    "breached",
    "dedup_key",
    "detected_at",
    "logged_at",
    "acknowledged_at",
    "resolved_at",
    "closed_at",
    "updated_at",
    "state",
)


def incident_row(state: Incident) -> tuple[Any, ...]:
    return (
        state.incident_id,
        state.version,
        state.revision,
        state.last_hash,
        state.status.value,
        state.title,
        state.service,
        state.source.value,
        state.priority and state.priority.value,
        state.category,
        state.team,
        state.assignee,
        state.major,
        bool(state.breached),
        state.dedup_key,
        state.detected_at,
        state.logged_at,
        state.acknowledged_at,
        state.resolved_at,
        state.closed_at,
        state.updated_at,
        JsonText(state.model_dump_json()),  # pydantic-core writes the JSON; no dict in between
    )


def event_row(
    event: EventBase, verdict: Verdict, prev_hash: str, partition: int, offset: int, canonical: bytes, position: int
) -> tuple[Any, ...]:
    """An `incident_events` row; the jsonb column gets the canonical bytes the hash was computed over."""
    return (
        event.event_id,
        event.incident_id,
        verdict.version,
        verdict.revision,
        TYPE_OF[type(event)],
        event.occurred_at,
        event.recorded_at,
        event.actor.id,
        JsonText(canonical.decode()),
        prev_hash,
        verdict.hash,
        partition,
        offset,
        position,
    )


def note_text(event: EventBase) -> str | None:
    """The text an accepted event adds to the incident's searchable notes."""
    return event.data.text if isinstance(event, NoteAdded) else None


def event_labels(event: EventBase) -> Iterator[tuple[str, str]]:
    """The labels an accepted event brings to its incident (`incident_labels`): its own, or its alerts'."""
    if isinstance(event, IncidentLogged | AlertCorrelated):
        yield from event.data.labels.items()
    elif isinstance(event, AlertsRecorded):
        for alert in event.data.alerts:
            yield from alert.labels.items()


def verdict_row(event: EventBase, verdict: Verdict, partition: int, offset: int) -> tuple[Any, ...]:
    return (
        verdict.event_id,
        verdict.incident_id,
        TYPE_OF[type(event)],
        verdict.kind.value,
        verdict.reason,
        verdict.version,
        verdict.revision,
        verdict.hash,
        event.request_hash,
        partition,
        offset,
        event.actor.id,
    )
