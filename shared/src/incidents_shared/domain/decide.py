"""`decide(state, command, meta) -> events`: what a command means, judged on the current state. Pure."""

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import uuid5

from incidents_shared.domain import commands as c
from incidents_shared.domain import events as e
from incidents_shared.domain import payloads as p
from incidents_shared.domain.alert_decisions import alert_drafts
from incidents_shared.domain.alert_group_decisions import group_drafts
from incidents_shared.domain.authorization import command_refusal
from incidents_shared.domain.enums import EscalationReason, LinkRelation, ResolutionCode, Source
from incidents_shared.domain.errors import (
    Forbidden,
    IncidentNotFound,
    InvalidCommand,
    InvalidTransition,
    VersionConflict,
)
from incidents_shared.domain.fold import advance
from incidents_shared.domain.limits import DEFAULT_NOTE_LIMITS, NoteLimits, check_note_limits
from incidents_shared.domain.preconditions import violation
from incidents_shared.domain.priority import priority_for
from incidents_shared.domain.state import Incident
from incidents_shared.domain.taxonomy import DEFAULT_TAXONOMY, Taxonomy, taxonomy_problem

C = TypeVar("C", bound=c.Command)
Draft = tuple[type[e.EventBase], p.Payload]
Decider = Callable[[Incident | None, Any, c.CommandMeta], list[Draft]]
_DECIDERS: dict[type[c.Command], Decider] = {}


def decides(cls: type[C]) -> Callable[[Callable[[Incident | None, C, c.CommandMeta], list[Draft]]], Decider]:
    def register(fn: Callable[[Incident | None, C, c.CommandMeta], list[Draft]]) -> Decider:
        _DECIDERS[cls] = fn
        return fn

    return register


def decide(
    state: Incident | None,
    command: c.Command,
    meta: c.CommandMeta,
    *,
    taxonomy: Taxonomy = DEFAULT_TAXONOMY,
    limits: NoteLimits = DEFAULT_NOTE_LIMITS,
) -> list[e.EventBase]:
    """The events a command produces, or a DomainError saying why it cannot be done now."""
    owner = state.reporter if state is not None else None
    if (refusal := command_refusal(meta.actor.role, meta.actor.id, command, owner)) is not None:
        raise Forbidden(refusal.detail, refusal.rule)
    if state is None and not isinstance(command, c.LogIncident | c.ReceiveAlert | c.ReceiveAlertGroup):
        raise IncidentNotFound(f"incident {meta.incident_id} does not exist")
    current = state.revision if state is not None else 0
    if meta.expected_version is not None and meta.expected_version != current:
        raise VersionConflict(meta.expected_version, current)
    _check_taxonomy(command, taxonomy)
    check_note_limits(state, command, limits)
    drafts = _DECIDERS[type(command)](state, command, meta)
    events = [_build(cls, data, meta, index) for index, (cls, data) in enumerate(drafts)]
    _check_preconditions(state, events)
    return events


def _check_taxonomy(command: c.Command, taxonomy: Taxonomy) -> None:
    if not isinstance(command, c.LogIncident | c.Categorize):
        return
    if (problem := taxonomy_problem(taxonomy, command.category, command.subcategory)) is not None:
        raise InvalidCommand(problem)


def _check_preconditions(state: Incident | None, events: list[e.EventBase]) -> None:
    for index, event in enumerate(events):
        if (reason := violation(state, event)) is not None:
            raise InvalidTransition(reason)
        if index < len(events) - 1:  # only a later event of the same command needs the state after this one
            state = advance(state, event)


def _build(cls: type[e.EventBase], data: p.Payload, meta: c.CommandMeta, index: int) -> e.EventBase:
    fields: dict[str, Any] = {
        "event_id": uuid5(meta.command_id, str(index)),
        "incident_id": meta.incident_id,
        "occurred_at": meta.now,
        "recorded_at": meta.now,
        "actor": meta.actor,
        "correlation_id": meta.correlation_id,
        "causation_id": meta.causation_id,
        "expected_version": meta.expected_version if index == 0 else None,  # later ones ride in the same batch
        "request_hash": meta.request_hash,
        "data": data,
    }
    return cls(**fields)


@decides(c.LogIncident)
def _log(state: Incident | None, cmd: c.LogIncident, meta: c.CommandMeta) -> list[Draft]:
    priority = priority_for(cmd.impact, cmd.urgency) if cmd.impact and cmd.urgency else None
    data = p.LoggedData(
        title=cmd.title,
        description=cmd.description,
        service=cmd.service,
        source=Source.DRILL if cmd.drill else Source.API,
        reporter=meta.actor.id,
        detected_at=cmd.detected_at or meta.now,
        labels=cmd.labels,
        dedup_key=cmd.dedup_key,
        category=cmd.category,
        subcategory=cmd.subcategory,
        impact=cmd.impact,
        urgency=cmd.urgency,
        priority=priority,
        runbook_url=cmd.runbook_url,
    )
    return [(e.IncidentLogged, data)]


@decides(c.Categorize)
def _categorize(state: Incident | None, cmd: c.Categorize, meta: c.CommandMeta) -> list[Draft]:
    return [(e.IncidentCategorized, p.CategorizedData(category=cmd.category, subcategory=cmd.subcategory))]


@decides(c.Prioritize)
def _prioritize(state: Incident | None, cmd: c.Prioritize, meta: c.CommandMeta) -> list[Draft]:
    if cmd.override_priority is None:
        priority, overridden = priority_for(cmd.impact, cmd.urgency), False
    elif not cmd.reason:  # who may override: the authorization table (priority-override)
        raise InvalidCommand("a priority override needs a reason")
    else:
        priority, overridden = cmd.override_priority, True
    data = p.PrioritizedData(
        impact=cmd.impact, urgency=cmd.urgency, priority=priority, overridden=overridden, reason=cmd.reason
    )
    return [(e.IncidentPrioritized, data)]


@decides(c.Assign)
def _assign(state: Incident | None, cmd: c.Assign, meta: c.CommandMeta) -> list[Draft]:
    return [(e.IncidentAssigned, p.AssignedData(team=cmd.team, assignee=cmd.assignee))]


@decides(c.Acknowledge)
def _acknowledge(state: Incident | None, cmd: c.Acknowledge, meta: c.CommandMeta) -> list[Draft]:
    return [(e.IncidentAcknowledged, p.AcknowledgedData(comment=cmd.comment))]


@decides(c.AcknowledgeFromPage)
def _acknowledge_from_page(state: Incident | None, cmd: c.AcknowledgeFromPage, meta: c.CommandMeta) -> list[Draft]:
    return [(e.IncidentAcknowledged, p.AcknowledgedData(comment=cmd.comment, page_link=cmd.page_link))]


@decides(c.StartInvestigation)
def _investigate(state: Incident | None, cmd: c.StartInvestigation, meta: c.CommandMeta) -> list[Draft]:
    return [(e.InvestigationStarted, p.EmptyData(comment=cmd.comment))]


@decides(c.AddNote)
def _note(state: Incident | None, cmd: c.AddNote, meta: c.CommandMeta) -> list[Draft]:
    return [(e.NoteAdded, p.NoteAddedData(kind=cmd.kind, text=cmd.text))]


@decides(c.PutOnHold)
def _hold(state: Incident | None, cmd: c.PutOnHold, meta: c.CommandMeta) -> list[Draft]:
    return [(e.PutOnHold, p.PutOnHoldData(reason=cmd.reason, comment=cmd.comment))]


@decides(c.Resume)
def _resume(state: Incident | None, cmd: c.Resume, meta: c.CommandMeta) -> list[Draft]:
    return [(e.IncidentResumed, p.EmptyData(comment=cmd.comment))]


@decides(c.Escalate)
def _escalate(state: Incident | None, cmd: c.Escalate, meta: c.CommandMeta) -> list[Draft]:
    assert state is not None
    level = cmd.level or state.escalation_level + 1
    if level > p.MAX_ESCALATION_LEVEL:
        raise InvalidCommand(f"the highest escalation level is {p.MAX_ESCALATION_LEVEL}")
    data = p.EscalatedData(
        level=level,
        target_team=cmd.target_team,
        target_person=cmd.target_person,
        target_schedule=cmd.target_schedule,
        reason=EscalationReason.MANUAL,
        comment=cmd.comment,
    )
    return [(e.IncidentEscalated, data)]


@decides(c.DeclareMajor)
def _major(state: Incident | None, cmd: c.DeclareMajor, meta: c.CommandMeta) -> list[Draft]:
    return [(e.MajorDeclared, p.MajorDeclaredData(reason=cmd.reason))]


@decides(c.PostUpdate)
def _update(state: Incident | None, cmd: c.PostUpdate, meta: c.CommandMeta) -> list[Draft]:
    return [(e.StakeholderUpdatePosted, p.StakeholderUpdateData(audience=cmd.audience, message=cmd.message))]


@decides(c.Link)
def _link(state: Incident | None, cmd: c.Link, meta: c.CommandMeta) -> list[Draft]:
    linked: Draft = (e.IncidentLinked, p.LinkedData(other_incident_id=cmd.other_incident_id, relation=cmd.relation))
    if cmd.relation is not LinkRelation.DUPLICATE_OF or state is None or not state.is_open:
        return [linked]
    summary = f"Duplicate of incident {cmd.other_incident_id}"
    return [linked, (e.IncidentResolved, p.ResolvedData(resolution_code=ResolutionCode.DUPLICATE, summary=summary))]


@decides(c.Resolve)
def _resolve(state: Incident | None, cmd: c.Resolve, meta: c.CommandMeta) -> list[Draft]:
    data = p.ResolvedData(resolution_code=cmd.resolution_code, root_cause=cmd.root_cause, summary=cmd.summary)
    return [(e.IncidentResolved, data)]


@decides(c.Reopen)
def _reopen(state: Incident | None, cmd: c.Reopen, meta: c.CommandMeta) -> list[Draft]:
    return [(e.IncidentReopened, p.ReopenedData(reason=cmd.reason))]


@decides(c.Close)
def _close(state: Incident | None, cmd: c.Close, meta: c.CommandMeta) -> list[Draft]:
    return [(e.IncidentClosed, p.EmptyData(comment=cmd.comment))]


@decides(c.CompleteReview)
def _review(state: Incident | None, cmd: c.CompleteReview, meta: c.CommandMeta) -> list[Draft]:
    return [(e.ReviewCompleted, p.ReviewCompletedData(summary=cmd.summary, action_items=cmd.action_items))]


@decides(c.ReceiveAlert)
def _receive_alert(state: Incident | None, cmd: c.ReceiveAlert, meta: c.CommandMeta) -> list[Draft]:
    return alert_drafts(state, cmd.alert, cmd.policy, meta.actor.id, meta.now)


@decides(c.ReceiveAlertGroup)
def _receive_alert_group(state: Incident | None, cmd: c.ReceiveAlertGroup, meta: c.CommandMeta) -> list[Draft]:
    return group_drafts(state, cmd.notice, cmd.policy, meta.actor.id, meta.now)
