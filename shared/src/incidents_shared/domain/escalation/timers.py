"""Durable timers: what is armed, and the event a due timer emits. Pure."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from incidents_shared.domain import events as e
from incidents_shared.domain import payloads as p
from incidents_shared.domain.enums import ActorKind, EscalationReason, SlaTarget
from incidents_shared.domain.escalation.book import PolicyBook
from incidents_shared.domain.escalation.people import People
from incidents_shared.domain.state import Incident
from incidents_shared.domain.timeutil import format_utc

ACTOR = e.Actor(id="escalator", kind=ActorKind.SYSTEM, role="system")


class TimerKind(StrEnum):
    TARGETS = "targets"  # append incident.sla_targets_set (due at once)
    ACK_BREACH = "ack_breach"
    RESOLVE_BREACH = "resolve_breach"
    STEP = "step"  # an escalation step of the matrix
    MAJOR = "major"  # the major-incident rule
    PAGE = "page"  # a contact method of a page that an acknowledgement stops
    PAGE_FIRST = "page_first"  # the first contact method of an assignment's or a manual escalation's page
    DIGEST = "digest"  # the one page listing a person's held pages at the end of a storm window (storm.py)


SLA_KINDS = frozenset({TimerKind.ACK_BREACH, TimerKind.RESOLVE_BREACH, TimerKind.STEP, TimerKind.MAJOR})


@dataclass(frozen=True)
class Timer:
    """One armed timer. `timer_id` is the id of the event it emits: uuid5(incident, rule, step, due)."""

    timer_id: UUID
    incident_id: UUID
    kind: TimerKind
    step: int
    due_at: datetime
    partition: int
    causation_id: str
    correlation_id: str
    payload: dict[str, Any]


def timer_id(incident_id: UUID, kind: TimerKind, step: int, due_at: datetime, salt: str = "") -> UUID:
    return uuid5(incident_id, f"{kind}:{step}:{format_utc(due_at)}:{salt}")


def build_event(timer: Timer, state: Incident, book: PolicyBook, people: People, now: datetime) -> e.EventBase:
    """The event a due timer appends; its id is the timer's, so a retry after a crash is a duplicate."""
    envelope: dict[str, Any] = {
        "event_id": timer.timer_id,
        "incident_id": timer.incident_id,
        "occurred_at": timer.due_at,
        "recorded_at": now,
        "actor": ACTOR,
        "correlation_id": timer.correlation_id,
        "causation_id": timer.causation_id,
    }
    policy = book.for_incident(state)
    match timer.kind:
        case TimerKind.TARGETS:
            return e.SlaTargetsSet(**envelope, data=p.SlaTargetsSetData.model_validate(timer.payload))
        case TimerKind.ACK_BREACH | TimerKind.RESOLVE_BREACH:
            target = SlaTarget.ACKNOWLEDGE if timer.kind is TimerKind.ACK_BREACH else SlaTarget.RESOLVE
            return e.SlaBreached(**envelope, data=p.SlaBreachedData(target=target, due_at=timer.due_at))
        case TimerKind.STEP:
            named = timer.payload.get("team") or people.owner_of(state)  # whoever owns it when the step fires
            team = policy.team_for(timer.step, str(named), state.category, state.service)
            data = p.EscalatedData(
                level=timer.step,
                target_team=team,
                target_person=timer.payload.get("user"),
                target_schedule=timer.payload.get("schedule"),
                reason=EscalationReason.ACK_SLA,
                comment=f"not acknowledged by {format_utc(timer.due_at)}",
                policy_id=policy.id,
                policy_version=policy.version,
                step=timer.step,
            )
            return e.IncidentEscalated(**envelope, data=data)
        case TimerKind.MAJOR:
            reason = f"{state.priority} under policy {policy.id} v{policy.version}: major-incident rule"
            return e.MajorDeclared(**envelope, data=p.MajorDeclaredData(reason=reason))
        case TimerKind.PAGE | TimerKind.PAGE_FIRST:
            return e.IncidentPaged(**envelope, data=p.PagedData.model_validate(timer.payload))
        case TimerKind.DIGEST:
            raise ValueError("a digest is built from its holds (storm.digest_event), not from its timer alone")
