"""The Alertmanager group use case: one incident per notification group, its alerts recorded on it.

A notification is decided as a whole on the group's incident (`ReceiveAlertGroup`): only alerts that changed are
recorded, in parts of at most 100 per event. An opening (`incident.logged`, maybe `incident.assigned`) is
appended first and its verdict awaited: if another racer opened the incident first, the notification is decided
again on the winner's state instead of recording its alerts twice. The other events follow one record each, in
order, on the incident's partition; only the last one's verdict is awaited.
"""

from dataclasses import dataclass, field
from functools import partial
from uuid import UUID, uuid4

import structlog
from pydantic import ValidationError

from command_api.alert_routing import ALERTS, MAX_ATTEMPTS, OUTCOMES, error_list, route_to, status_of
from command_api.outcomes import AlertResult, AlertsHandled, AlertsOutcome
from command_api.ports import Clock, IncidentReader, LogAppender, SystemClock, Verdicts
from command_api.records import VerdictRow
from incidents_shared.domain import alert_decisions as route
from incidents_shared.domain import alerts as a
from incidents_shared.domain import commands as c
from incidents_shared.domain import events as e
from incidents_shared.domain.alert_group_decisions import record
from incidents_shared.domain.alert_grouping import starts_anew
from incidents_shared.domain.alert_groups import is_firing, notice_of
from incidents_shared.domain.alert_tracking import MAX_TRACKED_ALERTS
from incidents_shared.domain.decide import decide
from incidents_shared.domain.errors import DomainError
from incidents_shared.domain.events import Actor, EventBase
from incidents_shared.domain.taxonomy import Taxonomy

log = structlog.get_logger(__name__)
OPENING = (e.IncidentLogged, e.IncidentAssigned)
MAIN = frozenset({"incident.logged", "incident.reopened"})  # the first event names the outcome when accepted
Items = list[a.NormalizedAlert | AlertResult]


@dataclass(frozen=True)
class GroupResult:
    """What became of a notification: its outcome, and the fingerprints it recorded."""

    outcome: str
    incident_id: UUID | None = None
    status: str | None = None
    detail: str | None = None
    event_id: UUID | None = None
    recorded: frozenset[str] = frozenset()
    untracked: frozenset[str] = frozenset()  # firing alerts the incident does not track (beyond its bound)


@dataclass
class AlertGroupService:
    read_model: IncidentReader
    appender: LogAppender
    waiter: Verdicts
    mapping: a.AlertMapping
    taxonomy: Taxonomy
    verdict_timeout_s: float
    clock: Clock = field(default_factory=SystemClock)
    window_s: int | None = None  # a grouping rule's window (0077); Alertmanager groups have none
    pinned: UUID | None = None  # decide on this incident instead of routing the key (0077: earlier episodes)

    async def receive(
        self, actor: Actor, correlation_id: str, webhook: a.AlertmanagerWebhook, items: Items
    ) -> AlertsOutcome:
        """The notification's alerts (validated one by one) on its group's incident; one result per alert."""
        alerts = [item for item in items if isinstance(item, a.NormalizedAlert)]
        try:
            notice = notice_of(webhook, alerts, self.mapping, self.taxonomy)
        except ValidationError as exc:
            detail = "what the group's alerts have in common cannot make an incident"
            return AlertsHandled([_invalid(item, detail, error_list(exc)) for item in items])
        if notice is None:
            return AlertsHandled([item for item in items if isinstance(item, AlertResult)])
        return await self.receive_notice(actor, correlation_id, notice, items)

    async def receive_notice(
        self, actor: Actor, correlation_id: str, notice: a.AlertGroupNotice, items: Items
    ) -> AlertsHandled:
        """A group's notice (its alerts among `items`) on the group's incident; one result per item."""
        alerts = [item for item in items if isinstance(item, a.NormalizedAlert)]
        result = await self._decide_and_append(notice, actor, correlation_id)
        results = [item if isinstance(item, AlertResult) else _of_alert(item, notice, result) for item in items]
        for one in results:
            ALERTS.labels(notice.source, one.outcome).inc()
        log.info(
            "alert_group_handled",
            dedup_key=notice.dedup_key,
            outcome=result.outcome,
            incident_id=str(result.incident_id),
            alerts=len(alerts),
            recorded=len(result.recorded),
        )
        return AlertsHandled(results)

    async def _decide_and_append(self, notice: a.AlertGroupNotice, actor: Actor, correlation_id: str) -> GroupResult:
        firing = any(map(is_firing, notice.alerts)) or notice.truncated > 0
        for attempt in range(MAX_ATTEMPTS):
            now = self.clock.now()
            done = partial(starts_anew, notice, self.window_s, now) if self.window_s is not None else None
            policy = self.mapping.policy
            if self.pinned is not None:
                incident_id, state = self.pinned, await self.read_model.incident(self.pinned)
            else:
                key = notice.dedup_key  # namespaced by the sender (0090)
                incident_id, state = await route_to(self.read_model, key, firing, policy, now, done, actor.id)
            meta = c.CommandMeta(incident_id, uuid4(), actor, now, correlation_id)
            try:
                events = decide(state, c.ReceiveAlertGroup(notice=notice, policy=self.mapping.policy), meta)
            except DomainError as exc:
                return GroupResult("rejected", incident_id, status_of(state), str(exc))
            _, tracked, _ = record(state, notice)
            untracked = frozenset(x.fingerprint for x in notice.alerts if is_firing(x) and x.fingerprint not in tracked)
            if not events:
                target = state.incident_id if state else None
                return GroupResult("ignored", target, status_of(state), untracked=untracked)
            recorded = _recorded(events)
            verdicts = await self._append(events)
            if isinstance(verdicts, UUID):
                return GroupResult("pending", incident_id, event_id=verdicts, recorded=recorded)
            if (outcome := _outcome(*verdicts)) is not None:
                after = await self.read_model.incident(incident_id)
                event_id = verdicts[1].event_id
                return GroupResult(outcome, incident_id, status_of(after), None, event_id, recorded, untracked)
            log.info("alert_group_raced", dedup_key=notice.dedup_key, incident_id=str(incident_id), attempt=attempt)
        return GroupResult("rejected", detail=f"still racing other writers after {MAX_ATTEMPTS} attempts")

    async def _append(self, events: list[EventBase]) -> tuple[VerdictRow | None, VerdictRow] | UUID:
        """Append the opening (waiting for it), then the rest one record each: the verdicts on the first and the
        last event appended, or the id of the event whose verdict did not come in time."""
        count = next((i for i, event in enumerate(events) if not isinstance(event, OPENING)), len(events))
        opening, rest = route.pin_opening(events[:count]), events[count:]
        if opening:
            opened = await self._append_waiting(opening, [])
            if opened is None:
                return opening[-1].event_id
            if not opened.accepted or not rest:
                return await self._first(events, opened), opened
        last = await self._append_waiting(rest[-1:], rest[:-1])
        return (await self._first(events, last), last) if last is not None else rest[-1].event_id

    async def _append_waiting(self, last: list[EventBase], before: list[EventBase]) -> VerdictRow | None:
        """Append `before` one record each, then `last` (one batch), and wait for the verdict on its last event."""
        event_id = last[-1].event_id
        future = self.waiter.expect(event_id)
        for event in before:
            await self.appender.append([event])
        await self.appender.append(last)
        return await self.waiter.wait(event_id, future, self.verdict_timeout_s)

    async def _first(self, events: list[EventBase], last: VerdictRow) -> VerdictRow | None:
        """The verdict on the first event (judged by now: the log judges an incident's events in order)."""
        return last if last.event_id == events[0].event_id else await self.read_model.verdict(events[0].event_id)


def _outcome(first: VerdictRow | None, last: VerdictRow) -> str | None:
    """Opened or reopened when that was accepted, else what the last accepted event says; None: all lost a race."""
    if first is not None and first.accepted and first.type in MAIN:
        return OUTCOMES[first.type]
    if last.accepted:
        return OUTCOMES[last.type]
    if first is not None and first.accepted and first.type != "incident.logged":
        return OUTCOMES[first.type]
    return None


def _recorded(events: list[EventBase]) -> frozenset[str]:
    return frozenset(alert.fingerprint for ev in events if isinstance(ev, e.AlertsRecorded) for alert in ev.data.alerts)


def _of_alert(alert: a.NormalizedAlert, notice: a.AlertGroupNotice, result: GroupResult) -> AlertResult:
    """One alert's result: the notification's when it recorded this alert (or failed), else `ignored` saying why."""
    key, incident, status = notice.dedup_key, result.incident_id, result.status
    if result.outcome in ("rejected", "pending") or alert.fingerprint in result.recorded:
        return AlertResult(result.outcome, key, incident, status, result.detail, result.event_id)
    if alert.fingerprint in result.untracked:
        return AlertResult("ignored", key, incident, status, f"beyond the {MAX_TRACKED_ALERTS} alerts it tracks")
    return AlertResult("ignored", key, incident, status, "unchanged since the group's last notification")


def _invalid(item: a.NormalizedAlert | AlertResult, detail: str, errors: list[dict[str, object]]) -> AlertResult:
    if isinstance(item, AlertResult):
        return item
    return AlertResult("invalid", item.fingerprint, detail=detail, errors=errors)
