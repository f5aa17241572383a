"""Commands: what people and services ask of an incident. Bodies of the HTTP API, validated strictly."""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import ConfigDict, Field, model_validator

from incidents_shared.domain import payloads as p
from incidents_shared.domain.alerts import AlertGroupNotice, AlertPolicy, NormalizedAlert
from incidents_shared.domain.enums import HoldReason, Level, LinkRelation, NoteKind, Priority, ResolutionCode
from incidents_shared.domain.events import Actor
from incidents_shared.domain.text import StorableModel
from incidents_shared.domain.timeutil import UtcDateTime


@dataclass(frozen=True)
class CommandMeta:
    """Everything about a command that is not its body; `command_id` seeds the deterministic event ids."""

    incident_id: UUID
    command_id: UUID
    actor: Actor
    now: datetime
    correlation_id: str
    causation_id: str | None = None
    expected_version: int | None = None
    request_hash: str | None = None


class Command(StorableModel):
    """Base of every command."""


def _example(**body: Any) -> ConfigDict:
    extra: dict[str, Any] = {"examples": [body]}
    return ConfigDict(frozen=True, extra="forbid", json_schema_extra=extra)


class LogIncident(Command):
    """Log a new incident (impact and urgency set the priority by the matrix)."""

    model_config = _example(
        title="Checkout returns 502 for 30% of requests",
        service="checkout",
        description="Since 09:40 UTC, p95 latency 30 s",
        impact="high",
        urgency="high",
        category="software",
        subcategory="application",
        labels={"env": "prod"},
    )
    title: p.Title
    description: Annotated[str, Field(max_length=20_000)] = ""
    service: p.Name
    detected_at: UtcDateTime | None = None
    labels: p.Labels = Field(default_factory=dict)
    dedup_key: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    category: p.Name | None = None
    subcategory: p.Name | None = None
    impact: Level | None = None
    urgency: Level | None = None
    runbook_url: Annotated[str, Field(max_length=2_000)] | None = None
    drill: bool = Field(default=False, description="a practice run (`incidentctl drill`): source `drill`")

    @model_validator(mode="after")
    def _both_or_neither(self) -> "LogIncident":
        if (self.impact is None) != (self.urgency is None):
            raise ValueError("give impact and urgency together, or neither")
        return self


class Categorize(Command):
    """Categorize the incident from the taxonomy."""

    model_config = _example(category="database", subcategory="performance")

    category: p.Name
    subcategory: p.Name | None = None


class Prioritize(Command):
    """Set impact and urgency; a manager may override the matrix with a reason."""

    model_config = _example(impact="high", urgency="medium")

    impact: Level
    urgency: Level
    override_priority: Priority | None = None
    reason: p.ShortText | None = None


class Assign(Command):
    """Assign the incident to a team and optionally a person."""

    model_config = _example(team="dba", assignee="carol")

    team: p.Name
    assignee: p.Name | None = None


class Acknowledge(Command):
    """Acknowledge: someone owns the incident now."""

    model_config = _example(comment="on it")

    comment: p.ShortText | None = None


class AcknowledgeFromPage(Command):
    """Acknowledge through a page's signed link, as the paged user (the API builds it; no route takes it as a body)."""

    page_link: UUID
    comment: p.ShortText | None = None


class StartInvestigation(Command):
    """Start investigating."""

    model_config = _example(comment="checking the connection pool")

    comment: p.ShortText | None = None


class AddNote(Command):
    """Add a note, diagnosis, root cause or workaround."""

    model_config = _example(kind="diagnosis", text="connection pool exhausted")

    kind: NoteKind = NoteKind.NOTE
    text: p.Text


class PutOnHold(Command):
    """Put on hold (pauses the resolve clock)."""

    model_config = _example(reason="awaiting_vendor", comment="vendor ticket 4711")

    reason: HoldReason
    comment: p.ShortText | None = None


class Resume(Command):
    """Resume work after a hold."""

    model_config = _example(comment="vendor answered")

    comment: p.ShortText | None = None


class Escalate(Command):
    """Escalate manually to another team or person."""

    model_config = _example(target_team="dba-leads", comment="needs a senior DBA")

    target_team: p.Name
    target_person: p.Name | None = None  # a user of the directory: paged in person
    target_schedule: p.Name | None = None  # a schedule: whoever is on call on it is paged
    level: Annotated[int, Field(ge=1, le=20)] | None = None
    comment: p.ShortText | None = None


class DeclareMajor(Command):
    """Declare a major incident."""

    model_config = _example(reason="all checkouts failing")

    reason: p.ShortText


class PostUpdate(Command):
    """Post a stakeholder update."""

    model_config = _example(audience="customers", message="We are investigating checkout errors.")

    audience: p.Name = "stakeholders"
    message: p.Text


class Link(Command):
    """Link to another incident."""

    model_config = _example(other_incident_id="8e0f7a3c-1d2b-4c5d-9e6f-7a8b9c0d1e2f", relation="related")

    other_incident_id: UUID
    relation: LinkRelation


class Resolve(Command):
    """Resolve with a resolution code, root cause and summary."""

    model_config = _example(resolution_code="fixed", root_cause="pool leak", summary="Leak fixed in v2.3.1")

    resolution_code: ResolutionCode = ResolutionCode.FIXED
    root_cause: p.Text | None = None
    summary: p.Text


class Reopen(Command):
    """Reopen a resolved incident."""

    model_config = _example(reason="errors are back")

    reason: p.ShortText


class Close(Command):
    """Close a resolved incident."""

    model_config = _example(comment="confirmed by the service owner")

    comment: p.ShortText | None = None


class CompleteReview(Command):
    """Record the post-incident review and its action items."""

    model_config = _example(
        summary="Pool leak after deploy",
        action_items=[{"title": "Alert on pool saturation", "owner": "dba", "due": "2026-12-15"}],
    )

    summary: p.Text
    action_items: Annotated[list[p.ActionItem], Field(max_length=100)] = Field(default_factory=list)


class ReceiveAlert(Command):
    """An alert from monitoring, normalized, with the alert policy in force when it arrived."""

    alert: NormalizedAlert
    policy: AlertPolicy = Field(default_factory=AlertPolicy)


class ReceiveAlertGroup(Command):
    """A notification of an Alertmanager group, normalized, with the alert policy in force when it arrived."""

    notice: AlertGroupNotice
    policy: AlertPolicy = Field(default_factory=AlertPolicy)
