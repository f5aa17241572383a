"""What the escalator does about each event its fold accepted: arm or cancel timers, queue notifications. Pure."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from incidents_shared.domain import events as e
from incidents_shared.domain import payloads as p
from incidents_shared.domain.enums import EscalationReason, PageReason, SlaTarget, Status
from incidents_shared.domain.escalation.book import PolicyBook
from incidents_shared.domain.escalation.paging import page_delivery, page_timers
from incidents_shared.domain.escalation.people import People, Reach, for_assignment, for_escalation
from incidents_shared.domain.escalation.recipients import Delivery, deliveries_for, undeliverable
from incidents_shared.domain.escalation.storm import Hold, digest_delivery, digest_timer, hold_of
from incidents_shared.domain.escalation.timers import SLA_KINDS, Timer, TimerKind, timer_id
from incidents_shared.domain.sla import add_time, shift_for_pause
from incidents_shared.domain.state import Incident

ALL_KINDS = SLA_KINDS  # what new SLA targets re-arm; pages run on (an acknowledgement or resolution stops them)
# A resolution stops everything about the incident but a storm's digest it happens to carry: that is about others.
UNTIL_RESOLVED = frozenset(TimerKind) - {TimerKind.DIGEST}


@dataclass
class Reaction:
    cancel: frozenset[TimerKind] = frozenset()  # pending timers of these kinds stop, before arming
    arm: list[Timer] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)  # pages held in a storm, for their digest (storm.py)


@dataclass(frozen=True)
class Context:
    event: e.EventBase
    before: Incident | None
    after: Incident
    partition: int
    book: PolicyBook
    people: People

    def timer(self, kind: TimerKind, step: int, due: datetime, payload: dict[str, Any], salt: str = "") -> Timer:
        incident = self.after.incident_id
        return Timer(
            timer_id(incident, kind, step, due, salt),
            incident,
            kind,
            step,
            due,
            self.partition,
            str(self.event.event_id),
            self.event.correlation_id,
            payload,
        )


Reactor = Callable[[Context], Reaction]


def react(
    event: e.EventBase, before: Incident | None, after: Incident, partition: int, book: PolicyBook, people: People
) -> Reaction:
    """The escalator's answer to one accepted event."""
    reactor = _REACTORS.get(type(event))
    return reactor(Context(event, before, after, partition, book, people)) if reactor else Reaction()


def _targets(ctx: Context, ack_due: datetime, resolve_due: datetime) -> Reaction:
    state = ctx.after
    assert state.priority is not None
    policy = ctx.book.for_incident(state) if state.sla_policy_id else ctx.book.current
    data = p.SlaTargetsSetData(
        priority=state.priority,
        ack_due_at=ack_due,
        resolve_due_at=resolve_due,
        policy_id=policy.id,
        policy_version=policy.version,
    )
    payload = data.model_dump(mode="json")
    due = ctx.event.recorded_at
    return Reaction(arm=[ctx.timer(TimerKind.TARGETS, 0, due, payload, salt=str(ctx.event.event_id))])


def _priority_set(ctx: Context) -> Reaction:
    state = ctx.after
    if state.priority is None or (ctx.before is not None and ctx.before.priority == state.priority):
        return Reaction()
    policy = ctx.book.for_incident(state)
    if policy.rule(state.priority) is None:
        return Reaction()
    return _targets(ctx, *policy.targets(state.priority, state.logged_at))


def _resumed(ctx: Context) -> Reaction:
    before, state = ctx.before, ctx.after
    if before is None or before.on_hold_since is None or state.priority is None or state.resolve_due_at is None:
        return Reaction()
    if ctx.book.for_incident(state).rule(state.priority) is None:
        return Reaction(cancel=ALL_KINDS)  # no rule for the priority it has now: no SLA, no steps
    hours = ctx.book.for_incident(state).hours(state.priority)
    resolve = shift_for_pause(state.resolve_due_at, before.on_hold_since, ctx.event.occurred_at, hours)
    return _targets(ctx, state.ack_due_at or resolve, resolve)


def _reopened(ctx: Context) -> Reaction:
    state = ctx.after
    policy = ctx.book.for_incident(state)
    rule = policy.rule(state.priority)
    if state.priority is None or rule is None:
        return Reaction(cancel=ALL_KINDS)  # no priority, or no rule for it: no SLA, no steps
    resolve = add_time(ctx.event.occurred_at, rule.resolve, policy.hours(state.priority))
    return _targets(ctx, state.ack_due_at or resolve, resolve)


def _targets_set(ctx: Context) -> Reaction:
    state = ctx.after
    assert isinstance(ctx.event, e.SlaTargetsSet)
    policy = ctx.book.for_incident(state)
    arm: list[Timer] = []
    if state.status is Status.NEW and SlaTarget.ACKNOWLEDGE not in state.breached:
        arm.append(ctx.timer(TimerKind.ACK_BREACH, 0, ctx.event.data.ack_due_at, {}))
    if state.status is not Status.ON_HOLD and SlaTarget.RESOLVE not in state.breached:
        arm.append(ctx.timer(TimerKind.RESOLVE_BREACH, 0, ctx.event.data.resolve_due_at, {}))
    rule = policy.rule(state.priority)
    if state.status is Status.NEW and rule is not None and state.priority is not None:
        for step in policy.schedule(state.priority, state.logged_at):
            if step.level > state.escalation_level:
                arm.append(ctx.timer(TimerKind.STEP, step.level, step.due_at, step.target))
    if rule is not None and rule.major is not None and not state.major:
        arm.append(ctx.timer(TimerKind.MAJOR, 0, state.logged_at + rule.major.after, {}))
    return Reaction(cancel=ALL_KINDS, arm=arm)


def _notify(ctx: Context) -> Reaction:
    return Reaction(deliveries=deliveries_for(ctx.event, ctx.after, ctx.partition, ctx.book))


def _escalated(ctx: Context) -> Reaction:
    """Page the people the escalation names and notify its team's channels; with nobody at all, say so and fall
    through to the next step of the policy at once."""
    event, state = ctx.event, ctx.after
    assert isinstance(event, e.IncidentEscalated)
    data, policy = event.data, ctx.book.for_incident(state)
    reach = for_escalation(event, ctx.people)
    pages = page_timers(event, state, ctx.partition, reach, ctx.people, data.level)
    in_person = data.target_person is not None or data.target_schedule is not None
    has_channels = not in_person and policy.unreachable(data.target_team) is None
    channels = deliveries_for(event, state, ctx.partition, ctx.book) if has_channels else []
    if pages or channels:
        return Reaction(arm=pages, deliveries=channels + _missing(ctx, reach))
    why = "; ".join(reach.missing) or policy.unreachable(data.target_team) or "nobody to page"
    target = data.target_person or data.target_schedule or data.target_team
    nobody = Reaction(deliveries=[undeliverable(event, state, ctx.partition, target, why)])
    if data.reason is EscalationReason.ACK_SLA:
        nobody.cancel, nobody.arm = frozenset({TimerKind.STEP}), _fall_through(ctx, data.level)
    return nobody


def _fall_through(ctx: Context, level: int) -> list[Timer]:
    """The policy's steps above `level`, the next one due now (the one it replaces reached nobody)."""
    state = ctx.after
    if state.priority is None or ctx.book.for_incident(state).rule(state.priority) is None:
        return []
    planned = ctx.book.for_incident(state).schedule(state.priority, state.logged_at)
    later = [step for step in planned if step.level > level]
    now = ctx.event.occurred_at
    return [
        ctx.timer(TimerKind.STEP, step.level, now if i == 0 else max(step.due_at, now), step.target)
        for i, step in enumerate(later)
    ]


def _assigned(ctx: Context) -> Reaction:
    event = ctx.event
    assert isinstance(event, e.IncidentAssigned)
    reach = for_assignment(event, ctx.before, ctx.people)
    pages = page_timers(event, ctx.after, ctx.partition, reach, ctx.people, None)
    return Reaction(arm=pages, deliveries=_missing(ctx, reach))


def _paged(ctx: Context) -> Reaction:
    """Deliver the page; a page held in a storm is recorded for its digest instead (armed once, see storm.py)."""
    event = ctx.event
    assert isinstance(event, e.IncidentPaged)
    if event.data.consolidated_into is not None:
        return Reaction(arm=[digest_timer(event, ctx.partition)], holds=[hold_of(event)])
    if event.data.reason is PageReason.DIGEST:
        return Reaction(deliveries=[digest_delivery(event, ctx.after, ctx.partition, ctx.people)])
    return Reaction(deliveries=[page_delivery(event, ctx.after, ctx.partition, ctx.people)])


def _missing(ctx: Context, reach: Reach) -> list[Delivery]:
    """Whoever was meant to be paged but cannot be: a failed notification each, never silence."""
    return [
        undeliverable(ctx.event, ctx.after, ctx.partition, f"missing:{i}", why) for i, why in enumerate(reach.missing)
    ]


_REACTORS: dict[type[e.EventBase], Reactor] = {
    e.IncidentLogged: _priority_set,
    e.IncidentPrioritized: _priority_set,
    e.IncidentResumed: _resumed,
    e.IncidentReopened: _reopened,
    e.SlaTargetsSet: _targets_set,
    e.IncidentAcknowledged: lambda ctx: Reaction(
        cancel=frozenset({TimerKind.ACK_BREACH, TimerKind.STEP, TimerKind.PAGE})
    ),
    e.IncidentAssigned: _assigned,
    e.IncidentPaged: _paged,
    e.PutOnHold: lambda ctx: Reaction(cancel=frozenset({TimerKind.RESOLVE_BREACH})),
    e.IncidentResolved: lambda ctx: Reaction(cancel=UNTIL_RESOLVED),
    e.IncidentClosed: lambda ctx: Reaction(cancel=UNTIL_RESOLVED),
    e.IncidentEscalated: _escalated,
    e.MajorDeclared: _notify,
    e.StakeholderUpdatePosted: _notify,
}
