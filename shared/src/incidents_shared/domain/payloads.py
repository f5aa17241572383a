"""Typed payloads (`data`) of every event in the catalogue."""

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from incidents_shared.domain.enums import (
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
    SlaTarget,
    Source,
)
from incidents_shared.domain.priority import priority_for
from incidents_shared.domain.text import StorableModel
from incidents_shared.domain.timeutil import UtcDateTime

Title = Annotated[str, Field(min_length=1, max_length=200)]
Name = Annotated[str, Field(min_length=1, max_length=120)]
ActorId = Annotated[str, Field(min_length=1, max_length=200)]
MAX_ESCALATION_LEVEL = 20
Text = Annotated[str, Field(min_length=1, max_length=20_000)]
ShortText = Annotated[str, Field(min_length=1, max_length=2_000)]
Labels = Annotated[
    dict[Annotated[str, Field(max_length=120)], Annotated[str, Field(max_length=1_000)]], Field(max_length=64)
]


class Payload(StorableModel):
    """Base of every event payload."""


def _without_absent(dumped: Any, *names: str) -> Any:
    """Fields added to a payload after events were written are left out while None: an old event then dumps to
    the same canonical bytes as before, so its hash-chain link does not change."""
    if isinstance(dumped, dict):
        for name in names:
            if dumped.get(name, 0) is None:
                del dumped[name]
    return dumped


class LoggedData(Payload):
    title: Title
    description: Annotated[str, Field(max_length=20_000)] = ""
    service: Name
    source: Source = Source.API
    reporter: ActorId
    detected_at: UtcDateTime
    labels: Labels = Field(default_factory=dict)
    dedup_key: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    category: Name | None = None
    subcategory: Name | None = None
    impact: Level | None = None
    urgency: Level | None = None
    priority: Priority | None = None
    runbook_url: Annotated[str, Field(max_length=2_000)] | None = None

    @model_validator(mode="after")
    def _priority_follows_matrix(self) -> "LoggedData":
        if (self.impact is None) != (self.urgency is None):
            raise ValueError("impact and urgency are given together or not at all")
        if self.impact is not None and self.urgency is not None:
            if self.priority != priority_for(self.impact, self.urgency):
                raise ValueError("priority must follow the impact x urgency matrix")
        elif self.priority is not None:
            raise ValueError("priority needs impact and urgency")
        return self


class CategorizedData(Payload):
    category: Name
    subcategory: Name | None = None


class PrioritizedData(Payload):
    impact: Level
    urgency: Level
    priority: Priority
    overridden: bool = False
    reason: ShortText | None = None

    @model_validator(mode="after")
    def _override_is_explained(self) -> "PrioritizedData":
        if self.overridden and not self.reason:
            raise ValueError("a priority override needs a reason")
        if not self.overridden and self.priority != priority_for(self.impact, self.urgency):
            raise ValueError("priority must follow the impact x urgency matrix unless overridden")
        return self


class AssignedData(Payload):
    team: Name
    assignee: Name | None = None


class EmptyData(Payload):
    comment: ShortText | None = None


class AcknowledgedData(Payload):
    """`page_link`: the page whose signed link acknowledged it (no login); a page's link works once."""

    comment: ShortText | None = None
    page_link: UUID | None = None

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> Any:
        return _without_absent(handler(self), "page_link")


class NoteAddedData(Payload):
    kind: NoteKind
    text: Text


class PutOnHoldData(Payload):
    reason: HoldReason
    comment: ShortText | None = None


class MajorDeclaredData(Payload):
    reason: ShortText


class EscalatedData(Payload):
    level: Annotated[int, Field(ge=1, le=MAX_ESCALATION_LEVEL)]
    target_team: Name
    target_person: Name | None = None  # a user of the directory: paged in person
    target_schedule: Name | None = None  # whoever is on call on it when the escalation happens is paged
    reason: EscalationReason
    comment: ShortText | None = None
    policy_id: Name | None = None
    policy_version: Annotated[int, Field(ge=1)] | None = None
    step: Annotated[int, Field(ge=0)] | None = None

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> Any:
        return _without_absent(handler(self), "target_schedule")


class ContactAttempt(Payload):
    """The contact method a page went out by: the user's `index`-th, tried `delay` after the page began."""

    index: Annotated[int, Field(ge=0, le=20)]
    kind: ContactKind
    address: Annotated[str, Field(min_length=1, max_length=2_000)]


MAX_DIGEST_ITEMS = 200  # a digest lists at most this many held pages; `total` counts them all


class DigestItem(Payload):
    """One held page a digest lists: its incident as it was when the digest went out."""

    incident_id: UUID
    title: Title
    priority: Priority | None = None
    page_id: UUID  # the held page: its signed link acknowledges this incident


class Digest(Payload):
    """The pages held back for one person within one storm window (docs/decisions/0075)."""

    incidents: Annotated[list[DigestItem], Field(min_length=1, max_length=MAX_DIGEST_ITEMS)]
    total: Annotated[int, Field(ge=1)]


class PagedData(Payload):
    """A person paged by one contact method. One page (`page_id`) goes out by each of the user's contact methods
    in turn; an acknowledgement earlier in the log stops the later ones (preconditions).

    In a paging storm a page is held: `consolidated_into` names the digest it went into instead of being
    delivered, due at `digest_due_at`; the digest itself is a page with reason `digest` listing them (`digest`)."""

    page_id: UUID
    user: Name
    reason: PageReason
    about_event_id: UUID  # the escalation or assignment that started the page
    contact: ContactAttempt
    level: Annotated[int, Field(ge=0, le=MAX_ESCALATION_LEVEL)] | None = None
    team: Name | None = None
    schedule: Name | None = None
    source: Name | None = None  # the schedule's layer that put them on call, or "override"
    consolidated_into: UUID | None = None
    digest_due_at: UtcDateTime | None = None
    digest: Digest | None = None

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> Any:
        return _without_absent(handler(self), "consolidated_into", "digest_due_at", "digest")


class SlaTargetsSetData(Payload):
    priority: Priority
    ack_due_at: UtcDateTime
    resolve_due_at: UtcDateTime
    policy_id: Name
    policy_version: Annotated[int, Field(ge=1)]


class SlaBreachedData(Payload):
    target: SlaTarget
    due_at: UtcDateTime


class StakeholderUpdateData(Payload):
    audience: Name
    message: Text


class NotificationData(Payload):
    channel: Name
    target: Annotated[str, Field(min_length=1, max_length=2_000)]
    attempt: Annotated[int, Field(ge=1)]
    about_event_id: UUID
    error: ShortText | None = None


class AlertCorrelatedData(Payload):
    source: Name
    dedup_key: Annotated[str, Field(min_length=1, max_length=300)]
    fingerprint: Annotated[str, Field(max_length=300)]
    labels: Labels = Field(default_factory=dict)
    count: Annotated[int, Field(ge=1)]
    status: AlertStatus = AlertStatus.FIRING
    last_seen_at: UtcDateTime


MAX_ALERTS_PER_RECORD = 100  # alerts per incident.alerts_recorded: a large notification is recorded in parts


class RecordedAlert(Payload):
    """One alert of an alert group as a notification reported it."""

    fingerprint: Annotated[str, Field(min_length=1, max_length=300)]
    status: AlertStatus
    labels: Labels = Field(default_factory=dict)
    starts_at: UtcDateTime
    ends_at: UtcDateTime | None = None


class AlertsRecordedData(Payload):
    """The alerts of a group whose state changed, as one notification reported them: `part` of `parts` (at most
    MAX_ALERTS_PER_RECORD each). `untracked_firing`: its firing alerts beyond what an incident keeps track of."""

    source: Name
    dedup_key: Annotated[str, Field(min_length=1, max_length=300)]
    receiver: Annotated[str, Field(max_length=200)] = ""
    group_key: Annotated[str, Field(max_length=5_000)] = ""
    mapping_version: Annotated[int, Field(ge=1)] = 1
    part: Annotated[int, Field(ge=1)] = 1
    parts: Annotated[int, Field(ge=1)] = 1
    alerts: Annotated[list[RecordedAlert], Field(max_length=MAX_ALERTS_PER_RECORD)] = Field(default_factory=list)
    untracked_firing: Annotated[int, Field(ge=0)] = 0


class LinkedData(Payload):
    other_incident_id: UUID
    relation: LinkRelation


class ResolvedData(Payload):
    resolution_code: ResolutionCode
    root_cause: Text | None = None
    summary: Text


class ReopenedData(Payload):
    reason: ShortText


class ActionItem(Payload):
    title: Title
    owner: Name
    due: date


class ReviewCompletedData(Payload):
    summary: Text
    action_items: Annotated[list[ActionItem], Field(max_length=100)] = Field(default_factory=list)
