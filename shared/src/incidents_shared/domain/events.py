"""The event envelope and the catalogue, decoded through one discriminated union on `type`."""

from typing import Annotated, Literal
from uuid import UUID

from pydantic import ConfigDict, Field

from incidents_shared.domain import payloads as p
from incidents_shared.domain.enums import ActorKind
from incidents_shared.domain.text import StorableModel
from incidents_shared.domain.timeutil import UtcDateTime


class Actor(StorableModel):
    """Who caused an event: a person, another service, or this system."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: p.ActorId
    kind: ActorKind
    role: Annotated[str, Field(min_length=1, max_length=40)]


class EventBase(StorableModel):
    """The envelope every event shares."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    event_id: UUID
    incident_id: UUID
    schema_version: Literal[1] = 1  # events whose payload has changed override this
    occurred_at: UtcDateTime
    recorded_at: UtcDateTime
    actor: Actor
    correlation_id: Annotated[str, Field(min_length=1, max_length=200)]
    causation_id: Annotated[str, Field(max_length=200)] | None = None
    expected_version: Annotated[int, Field(ge=0)] | None = None
    request_hash: Annotated[str, Field(max_length=128)] | None = None


class IncidentLogged(EventBase):
    type: Literal["incident.logged"] = "incident.logged"
    data: p.LoggedData


class IncidentCategorized(EventBase):
    type: Literal["incident.categorized"] = "incident.categorized"
    data: p.CategorizedData


class IncidentPrioritized(EventBase):
    type: Literal["incident.prioritized"] = "incident.prioritized"
    data: p.PrioritizedData


class IncidentAssigned(EventBase):
    type: Literal["incident.assigned"] = "incident.assigned"
    data: p.AssignedData


class IncidentAcknowledged(EventBase):
    type: Literal["incident.acknowledged"] = "incident.acknowledged"
    data: p.AcknowledgedData


class InvestigationStarted(EventBase):
    type: Literal["incident.investigation_started"] = "incident.investigation_started"
    data: p.EmptyData


class NoteAdded(EventBase):
    type: Literal["incident.note_added"] = "incident.note_added"
    schema_version: Literal[2] = 2  # type: ignore[assignment]
    data: p.NoteAddedData


class PutOnHold(EventBase):
    type: Literal["incident.put_on_hold"] = "incident.put_on_hold"
    data: p.PutOnHoldData


class IncidentResumed(EventBase):
    type: Literal["incident.resumed"] = "incident.resumed"
    data: p.EmptyData


class MajorDeclared(EventBase):
    type: Literal["incident.major_declared"] = "incident.major_declared"
    data: p.MajorDeclaredData


class IncidentEscalated(EventBase):
    type: Literal["incident.escalated"] = "incident.escalated"
    data: p.EscalatedData


class SlaTargetsSet(EventBase):
    type: Literal["incident.sla_targets_set"] = "incident.sla_targets_set"
    data: p.SlaTargetsSetData


class SlaBreached(EventBase):
    type: Literal["incident.sla_breached"] = "incident.sla_breached"
    data: p.SlaBreachedData


class StakeholderUpdatePosted(EventBase):
    type: Literal["incident.stakeholder_update_posted"] = "incident.stakeholder_update_posted"
    data: p.StakeholderUpdateData


class NotificationSent(EventBase):
    type: Literal["incident.notification_sent"] = "incident.notification_sent"
    data: p.NotificationData


class NotificationFailed(EventBase):
    type: Literal["incident.notification_failed"] = "incident.notification_failed"
    data: p.NotificationData


class AlertCorrelated(EventBase):
    type: Literal["incident.alert_correlated"] = "incident.alert_correlated"
    data: p.AlertCorrelatedData


class AlertsRecorded(EventBase):
    type: Literal["incident.alerts_recorded"] = "incident.alerts_recorded"
    data: p.AlertsRecordedData


class IncidentLinked(EventBase):
    type: Literal["incident.linked"] = "incident.linked"
    data: p.LinkedData


class IncidentResolved(EventBase):
    type: Literal["incident.resolved"] = "incident.resolved"
    data: p.ResolvedData


class IncidentReopened(EventBase):
    type: Literal["incident.reopened"] = "incident.reopened"
    data: p.ReopenedData


class IncidentClosed(EventBase):
    type: Literal["incident.closed"] = "incident.closed"
    data: p.EmptyData


class IncidentPaged(EventBase):
    type: Literal["incident.paged"] = "incident.paged"
    data: p.PagedData


class ReviewCompleted(EventBase):
    type: Literal["incident.review_completed"] = "incident.review_completed"
    data: p.ReviewCompletedData


Event = Annotated[
    IncidentLogged
    | IncidentCategorized
    | IncidentPrioritized
    | IncidentAssigned
    | IncidentAcknowledged
    | InvestigationStarted
    | NoteAdded
    | PutOnHold
    | IncidentResumed
    | MajorDeclared
    | IncidentEscalated
    | IncidentPaged
    | SlaTargetsSet
    | SlaBreached
    | StakeholderUpdatePosted
    | NotificationSent
    | NotificationFailed
    | AlertCorrelated
    | AlertsRecorded
    | IncidentLinked
    | IncidentResolved
    | IncidentReopened
    | IncidentClosed
    | ReviewCompleted,
    Field(discriminator="type"),
]

EVENT_CLASSES: tuple[type[EventBase], ...] = (
    IncidentLogged,
    IncidentCategorized,
    IncidentPrioritized,
    IncidentAssigned,
    IncidentAcknowledged,
    InvestigationStarted,
    NoteAdded,
    PutOnHold,
    IncidentResumed,
    MajorDeclared,
    IncidentEscalated,
    IncidentPaged,
    SlaTargetsSet,
    SlaBreached,
    StakeholderUpdatePosted,
    NotificationSent,
    NotificationFailed,
    AlertCorrelated,
    AlertsRecorded,
    IncidentLinked,
    IncidentResolved,
    IncidentReopened,
    IncidentClosed,
    ReviewCompleted,
)


def event_type(cls: type[EventBase]) -> str:
    """The stable dotted name of an event class."""
    default = cls.model_fields["type"].default
    assert isinstance(default, str)
    return default


def current_schema_version(cls: type[EventBase]) -> int:
    default = cls.model_fields["schema_version"].default
    assert isinstance(default, int)
    return default


EVENT_TYPES: dict[str, type[EventBase]] = {event_type(cls): cls for cls in EVENT_CLASSES}
# event_type of each class, for per-event lookups (pydantic's model_fields is slow to reach).
TYPE_OF: dict[type[EventBase], str] = {cls: name for name, cls in EVENT_TYPES.items()}

# Appended by the system on its own: they never move the revision a client holds in ETag/If-Match.
BOOKKEEPING_TYPES = frozenset(
    {
        "incident.sla_targets_set",
        "incident.sla_breached",
        "incident.paged",
        "incident.notification_sent",
        "incident.notification_failed",
        "incident.alert_correlated",
        "incident.alerts_recorded",
    }
)
