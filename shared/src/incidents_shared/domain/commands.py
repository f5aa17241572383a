"""Commands: what people and services ask of an incident. Bodies of the HTTP API, validated strictly."""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from incidents_shared.domain import payloads as p
from incidents_shared.domain.enums import HoldReason, Level, LinkRelation, NoteKind, Priority, ResolutionCode
from incidents_shared.domain.events import Actor
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


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LogIncident(Command):
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

    @model_validator(mode="after")
    def _both_or_neither(self) -> "LogIncident":
        if (self.impact is None) != (self.urgency is None):
            raise ValueError("give impact and urgency together, or neither")
        return self


class Categorize(Command):
    category: p.Name
    subcategory: p.Name | None = None


class Prioritize(Command):
    impact: Level
    urgency: Level
    override_priority: Priority | None = None
    reason: p.ShortText | None = None


class Assign(Command):
    team: p.Name
    assignee: p.Name | None = None


class Acknowledge(Command):
    comment: p.ShortText | None = None


class StartInvestigation(Command):
    comment: p.ShortText | None = None


class AddNote(Command):
    kind: NoteKind = NoteKind.NOTE
    text: p.Text


class PutOnHold(Command):
    reason: HoldReason
    comment: p.ShortText | None = None


class Resume(Command):
    comment: p.ShortText | None = None


class Escalate(Command):
    target_team: p.Name
    target_person: p.Name | None = None
    level: Annotated[int, Field(ge=1, le=20)] | None = None
    comment: p.ShortText | None = None


class DeclareMajor(Command):
    reason: p.ShortText


class PostUpdate(Command):
    audience: p.Name = "stakeholders"
    message: p.Text


class Link(Command):
    other_incident_id: UUID
    relation: LinkRelation


class Resolve(Command):
    resolution_code: ResolutionCode = ResolutionCode.FIXED
    root_cause: p.Text | None = None
    summary: p.Text


class Reopen(Command):
    reason: p.ShortText


class Close(Command):
    comment: p.ShortText | None = None


class CompleteReview(Command):
    summary: p.Text
    action_items: Annotated[list[p.ActionItem], Field(max_length=100)] = Field(default_factory=list)
