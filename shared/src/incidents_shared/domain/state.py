"""The folded state of one incident."""

from datetime import datetime, timedelta
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from incidents_shared.domain.codec import GENESIS_HASH
from incidents_shared.domain.enums import (
    AlertStatus,
    HoldReason,
    Level,
    LinkRelation,
    Priority,
    ResolutionCode,
    SlaTarget,
    Source,
    Status,
)
from incidents_shared.domain.payloads import ActionItem
from incidents_shared.domain.timeutil import UtcDateTime


class Link(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    other_incident_id: UUID
    relation: LinkRelation


class TrackedAlert(BaseModel):
    """An alert of the incident's alert group as last reported: firing or resolved, and where (`instance`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    status: AlertStatus
    instance: str


class Incident(BaseModel):
    """An incident as the fold of its accepted events.

    `version` is the stream position (accepted events, all of them; the hash chain follows it);
    `revision` is what clients see in ETag/If-Match and moves only on events people cause.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    incident_id: UUID
    version: int = 0
    revision: int = 0
    last_hash: str = GENESIS_HASH
    status: Status = Status.NEW
    title: str
    description: str = ""
    service: str
    source: Source = Source.API
    reporter: str
    labels: dict[str, str] = Field(default_factory=dict)
    dedup_key: str | None = None
    runbook_url: str | None = None
    category: str | None = None
    subcategory: str | None = None
    impact: Level | None = None
    urgency: Level | None = None
    priority: Priority | None = None
    priority_overridden: bool = False
    team: str | None = None
    assignee: str | None = None
    major: bool = False
    escalation_level: int = 0
    hold_reason: HoldReason | None = None
    detected_at: UtcDateTime
    logged_at: UtcDateTime
    updated_at: UtcDateTime
    acknowledged_at: UtcDateTime | None = None
    page_links_used: frozenset[UUID] = frozenset()  # pages whose signed link acknowledged it (each works once)
    investigating_at: UtcDateTime | None = None
    on_hold_since: UtcDateTime | None = None
    on_hold_total_seconds: float = 0.0
    resolved_at: UtcDateTime | None = None
    closed_at: UtcDateTime | None = None
    resolution_code: ResolutionCode | None = None
    root_cause: str | None = None
    resolution_summary: str | None = None
    reopen_count: int = 0
    sla_policy_id: str | None = None
    sla_policy_version: int | None = None
    ack_due_at: UtcDateTime | None = None
    resolve_due_at: UtcDateTime | None = None
    breached: frozenset[SlaTarget] = frozenset()
    alert_count: int = 0
    last_alert_at: UtcDateTime | None = None
    # An alert group's alerts by fingerprint, in the order they last changed (bounded: domain/alert_tracking.py),
    # how many fire now (the untracked ones included) and where: their instances, sorted, the first 50.
    group_alerts: dict[str, TrackedAlert] = Field(default_factory=dict)
    alerts_firing: int = 0
    alerts_untracked_firing: int = 0
    firing_instances: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()
    notes_count: int = 0
    review_summary: str | None = None
    action_items: tuple[ActionItem, ...] = ()

    @field_serializer("breached", "page_links_used", when_used="json")
    def _sorted(self, members: frozenset[SlaTarget] | frozenset[UUID]) -> list[str]:
        """Sets written sorted: a set of strings iterates in an order that depends on the process's hash seed, so the
        same state written by two processes (the projector, a rebuild's workers, the checker) differed."""
        return sorted(str(member) for member in members)

    @property
    def is_open(self) -> bool:
        return self.status not in (Status.RESOLVED, Status.CLOSED)

    def on_hold_until(self, now: datetime) -> timedelta:
        """Total time spent on hold up to `now`, including a hold still running."""
        running = (now - self.on_hold_since).total_seconds() if self.on_hold_since else 0.0
        return timedelta(seconds=self.on_hold_total_seconds + running)
