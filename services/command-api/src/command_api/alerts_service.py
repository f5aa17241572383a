"""The alert use case: route each alert to its incident, decide, append, wait for the verdict; re-decide on races.
Alertmanager notifications go to `alert_groups_service` (one incident per group) unless the mapping says otherwise.

Racing alerts of one key all address the same incident (its id is derived from the key and the episode), so the
log judges them one after the other; an alert whose event the log rejected (an `incident.logged` that lost the
race) is decided again on the state the winner left, and becomes a correlation.
"""

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import structlog

from command_api.alert_grouping_service import receive_grouped
from command_api.alert_groups_service import AlertGroupService
from command_api.alert_routing import (
    ALERTMANAGER,
    ALERTS,
    GENERIC,
    GRAFANA,
    MAX_ATTEMPTS,
    OUTCOMES,
    AlertFormat,
    route_to,
    status_of,
    validated,
)
from command_api.maintenance_hold import NO_HOLD, AlertHold
from command_api.outcomes import AlertResult, AlertsHandled, AlertsOutcome, TooManyAlerts
from command_api.ports import Clock, IncidentReader, LogAppender, SystemClock, Verdicts
from command_api.records import VerdictRow
from incidents_shared.domain import alert_decisions as route
from incidents_shared.domain import alerts as a
from incidents_shared.domain import commands as c
from incidents_shared.domain.alert_grouping import rule_for, split
from incidents_shared.domain.alert_grouping_rules import GroupingRule
from incidents_shared.domain.decide import decide
from incidents_shared.domain.enums import AlertStatus
from incidents_shared.domain.errors import DomainError
from incidents_shared.domain.events import Actor, EventBase
from incidents_shared.domain.state import Incident
from incidents_shared.domain.taxonomy import Taxonomy

__all__ = ["ALERTMANAGER", "GENERIC", "GRAFANA", "AlertFormat", "AlertService"]
Items = Sequence[a.NormalizedAlert | AlertResult]
log = structlog.get_logger(__name__)


@dataclass
class AlertService:
    read_model: IncidentReader
    appender: LogAppender
    waiter: Verdicts
    mapping: a.AlertMapping
    taxonomy: Taxonomy
    verdict_timeout_s: float
    clock: Clock = field(default_factory=SystemClock)
    hold: AlertHold = NO_HOLD  # maintenance windows (command_api.maintenance_hold, docs/decisions/0076)

    async def receive(self, actor: Actor, correlation_id: str, raw: Sequence[Any], form: AlertFormat) -> AlertsOutcome:
        """Each alert on its own; alerts of one key in the order given, different keys concurrently."""
        if len(raw) > self.mapping.max_alerts_per_request:
            return TooManyAlerts(self.mapping.max_alerts_per_request)
        alerts = self._validated(raw, form)
        results: list[AlertResult | None] = [item if isinstance(item, AlertResult) else None for item in alerts]
        by_key: dict[str, list[tuple[int, a.NormalizedAlert]]] = defaultdict(list)
        alone, grouped = split(alerts, self.mapping)  # grouping rules (0077): one notice per group
        for index, item in alone:
            if isinstance(item, a.NormalizedAlert):
                by_key[item.dedup_key].append((index, item))

        async def run(group: list[tuple[int, a.NormalizedAlert]]) -> None:
            for index, alert in group:
                results[index] = await self._one(alert, actor, correlation_id)

        async def run_grouped(key: str, rule: GroupingRule, members: list[tuple[int, a.NormalizedAlert]]) -> None:
            held = await self.hold.grouped(key, [alert for _, alert in members], actor, self.clock.now())
            decided = (
                [(i, held) for i, _ in members]
                if held is not None
                else await receive_grouped(self._groups(), actor, correlation_id, key, rule, members)
            )
            for index, result in decided:
                results[index] = result

        await asyncio.gather(
            *(run(group) for group in by_key.values()), *(run_grouped(k, *group) for k, group in grouped.items())
        )
        return AlertsHandled([result for result in results if result is not None])

    async def receive_alertmanager(
        self, actor: Actor, correlation_id: str, webhook: a.AlertmanagerWebhook
    ) -> AlertsOutcome:
        """One incident per notification group, or per alert where the mapping's routes say so."""
        if self.mapping.incident_per(webhook.receiver, webhook.common_labels) is a.IncidentPer.ALERT:
            return await self.receive(actor, correlation_id, webhook.alerts, ALERTMANAGER)
        return await self.receive_group(actor, correlation_id, webhook, self._validated(webhook.alerts, ALERTMANAGER))

    async def receive_group(
        self, actor: Actor, correlation_id: str, webhook: a.AlertmanagerWebhook, items: Items
    ) -> AlertsOutcome:
        """A notification's alerts, validated (or as a maintenance window held them), on its group's incident."""
        if (held := await self.hold.group(webhook, items, actor, self.clock.now())) is not None:
            return held
        return await self._groups().receive(actor, correlation_id, webhook, list(items))

    async def receive_normalized(self, actor: Actor, correlation_id: str, alert: a.NormalizedAlert) -> AlertResult:
        """One alert already normalized (a heartbeat's, or one a maintenance window held)."""
        return await self._one(alert, actor, correlation_id)

    async def receive_grouped_alerts(
        self, actor: Actor, correlation_id: str, key: str, alerts: Sequence[a.NormalizedAlert]
    ) -> list[AlertResult]:
        """Alerts of one group of the grouping rules (as a maintenance window held them), decided as `receive`
        would; each on its own if the mapping no longer groups them."""
        rule = rule_for(self.mapping, alerts[0])
        if rule is None:
            return [await self._one(alert, actor, correlation_id) for alert in alerts]
        members = list(enumerate(alerts))
        return [
            result for _, result in await receive_grouped(self._groups(), actor, correlation_id, key, rule, members)
        ]

    def without_hold(self) -> "AlertService":
        """This use case deciding as if no maintenance window held anything: what releases held alerts uses."""
        return replace(self, hold=NO_HOLD)

    def _groups(self) -> AlertGroupService:
        return AlertGroupService(
            self.read_model, self.appender, self.waiter, self.mapping, self.taxonomy, self.verdict_timeout_s, self.clock
        )

    def _validated(self, raw: Sequence[Any], form: AlertFormat) -> list[a.NormalizedAlert | AlertResult]:
        return validated(raw, form, self.mapping, self.taxonomy, self.clock.now())

    async def _one(self, alert: a.NormalizedAlert, actor: Actor, correlation_id: str) -> AlertResult:
        result = await self._decide_and_append(alert, actor, correlation_id)
        ALERTS.labels(alert.source, result.outcome).inc()
        return result

    async def _decide_and_append(self, alert: a.NormalizedAlert, actor: Actor, correlation_id: str) -> AlertResult:
        key = alert.dedup_key
        for attempt in range(MAX_ATTEMPTS):
            now = self.clock.now()
            incident_id, state = await self._route(alert, actor, now)
            meta = c.CommandMeta(incident_id, uuid4(), actor, now, correlation_id)
            try:
                command = c.ReceiveAlert(alert=alert, policy=self.mapping.policy)
                events = route.pin_opening(decide(state, command, meta))
            except DomainError as exc:
                return AlertResult("rejected", key, incident_id, status_of(state), str(exc))
            if (held := await self.hold.alert(alert, actor, events, now)) is not None:
                return held
            if not events:
                return AlertResult("ignored", key, state.incident_id if state else None, status_of(state))
            verdict = await self._append(events)
            if verdict is None:
                return AlertResult("pending", key, incident_id, event_id=events[-1].event_id)
            if (result := await self._judged(key, events, verdict)) is not None:
                log.info("alert_handled", dedup_key=key, outcome=result.outcome, incident_id=str(incident_id))
                return result
            log.info("alert_raced", dedup_key=key, incident_id=str(incident_id), attempt=attempt, reason=verdict.reason)
        return AlertResult("rejected", key, detail=f"still racing other writers after {MAX_ATTEMPTS} attempts")

    async def _route(self, alert: a.NormalizedAlert, actor: Actor, now: datetime) -> tuple[UUID, Incident | None]:
        firing = alert.status is AlertStatus.FIRING
        return await route_to(self.read_model, alert.dedup_key, firing, self.mapping.policy, now, owner=actor.id)

    async def _append(self, events: list[EventBase]) -> VerdictRow | None:
        last = events[-1].event_id
        future = self.waiter.expect(last)
        await self.appender.append(events)
        return await self.waiter.wait(last, future, self.verdict_timeout_s)

    async def _judged(self, key: str, events: list[EventBase], last: VerdictRow) -> AlertResult | None:
        """The outcome named by the first accepted event (a refire reopens and counts), None when all lost a race."""
        first = last if len(events) == 1 else await self.read_model.verdict(events[0].event_id)
        accepted = next((v for v in (first, last) if v is not None and v.accepted), None)
        if accepted is None:
            return None
        state = await self.read_model.incident(accepted.incident_id)
        return AlertResult(
            OUTCOMES[accepted.type], key, accepted.incident_id, status_of(state), event_id=accepted.event_id
        )
