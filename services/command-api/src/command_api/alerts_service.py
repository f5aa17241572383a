"""The alert use case: route each alert to its incident, decide, append, wait for the verdict; re-decide on races.

Racing alerts of one key all address the same incident (its id is derived from the key and the episode), so the
log judges them one after the other; an alert whose event the log rejected (an `incident.logged` that lost the
race) is decided again on the state the winner left, and becomes a correlation.
"""

import asyncio
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import structlog
from prometheus_client import Counter
from pydantic import ValidationError

from command_api.outcomes import AlertResult, AlertsHandled, AlertsOutcome, TooManyAlerts
from command_api.ports import Clock, IncidentReader, LogAppender, SystemClock, Verdicts
from command_api.records import VerdictRow
from incidents_shared.domain import alert_decisions as route
from incidents_shared.domain import alerts as a
from incidents_shared.domain import commands as c
from incidents_shared.domain.decide import decide
from incidents_shared.domain.errors import DomainError
from incidents_shared.domain.events import Actor, EventBase
from incidents_shared.domain.state import Incident
from incidents_shared.domain.taxonomy import Taxonomy

log = structlog.get_logger(__name__)
ALERTS = Counter("api_alerts_total", "Alerts received, by source and outcome", ["source", "outcome"])
MAX_ATTEMPTS = 5  # each retry follows a rejection, i.e. progress by another writer on the same incident
MAX_HOPS = 5  # duplicate_of chains followed
OUTCOMES = {
    "incident.logged": "opened",
    "incident.alert_correlated": "correlated",
    "incident.resolved": "resolved",
    "incident.note_added": "noted",
    "incident.reopened": "reopened",
}
Normalize = Callable[[dict[str, Any], a.AlertMapping, Taxonomy, datetime], a.NormalizedAlert]


@dataclass(frozen=True)
class AlertFormat:
    """A source's payload: how one alert of it is normalized, and which field names it when it is invalid."""

    normalize: Normalize
    key_field: str


def _generic(item: dict[str, Any], mapping: a.AlertMapping, taxonomy: Taxonomy, now: datetime) -> a.NormalizedAlert:
    return a.normalize_generic(a.GenericAlert.model_validate(item), mapping, taxonomy, now)


def _alertmanager(item: dict[str, Any], mapping: a.AlertMapping, taxonomy: Taxonomy, _: datetime) -> a.NormalizedAlert:
    return a.normalize_webhook(a.WebhookAlert.model_validate(item), "alertmanager", mapping, taxonomy)


def _grafana(item: dict[str, Any], mapping: a.AlertMapping, taxonomy: Taxonomy, _: datetime) -> a.NormalizedAlert:
    return a.normalize_webhook(a.GrafanaAlert.model_validate(item), "grafana", mapping, taxonomy)


GENERIC = AlertFormat(_generic, "dedup_key")
ALERTMANAGER = AlertFormat(_alertmanager, "fingerprint")
GRAFANA = AlertFormat(_grafana, "fingerprint")


@dataclass
class AlertService:
    read_model: IncidentReader
    appender: LogAppender
    waiter: Verdicts
    mapping: a.AlertMapping
    taxonomy: Taxonomy
    verdict_timeout_s: float
    clock: Clock = field(default_factory=SystemClock)

    async def receive(self, actor: Actor, correlation_id: str, raw: Sequence[Any], form: AlertFormat) -> AlertsOutcome:
        """Each alert on its own; alerts of one key in the order given, different keys concurrently."""
        if len(raw) > self.mapping.max_alerts_per_request:
            return TooManyAlerts(self.mapping.max_alerts_per_request)
        alerts = self._validated(raw, form)
        results: list[AlertResult | None] = [item if isinstance(item, AlertResult) else None for item in alerts]
        by_key: dict[str, list[tuple[int, a.NormalizedAlert]]] = defaultdict(list)
        for index, item in enumerate(alerts):
            if isinstance(item, a.NormalizedAlert):
                by_key[item.dedup_key].append((index, item))

        async def run(group: list[tuple[int, a.NormalizedAlert]]) -> None:
            for index, alert in group:
                results[index] = await self._one(alert, actor, correlation_id)

        await asyncio.gather(*(run(group) for group in by_key.values()))
        return AlertsHandled([result for result in results if result is not None])

    def _validated(self, raw: Sequence[Any], form: AlertFormat) -> list[a.NormalizedAlert | AlertResult]:
        now = self.clock.now()
        items: list[a.NormalizedAlert | AlertResult] = []
        for item in raw:
            if not isinstance(item, dict):
                items.append(AlertResult("invalid", detail="an alert is a JSON object"))
                continue
            try:
                items.append(form.normalize(item, self.mapping, self.taxonomy, now))
            except ValidationError as exc:
                key = item.get(form.key_field) if isinstance(item.get(form.key_field), str) else None
                items.append(AlertResult("invalid", key, detail="the alert is not valid", errors=_errors(exc)))
        return items

    async def _one(self, alert: a.NormalizedAlert, actor: Actor, correlation_id: str) -> AlertResult:
        result = await self._decide_and_append(alert, actor, correlation_id)
        ALERTS.labels(alert.source, result.outcome).inc()
        return result

    async def _decide_and_append(self, alert: a.NormalizedAlert, actor: Actor, correlation_id: str) -> AlertResult:
        key = alert.dedup_key
        for attempt in range(MAX_ATTEMPTS):
            now = self.clock.now()
            incident_id, state = await self._route(alert, now)
            meta = c.CommandMeta(incident_id, uuid4(), actor, now, correlation_id)
            try:
                command = c.ReceiveAlert(alert=alert, policy=self.mapping.policy)
                events = route.pin_opening(decide(state, command, meta))
            except DomainError as exc:
                return AlertResult("rejected", key, incident_id, _status(state), str(exc))
            if not events:
                return AlertResult("ignored", key, state.incident_id if state else None, _status(state))
            verdict = await self._append(events)
            if verdict is None:
                return AlertResult("pending", key, incident_id, event_id=events[-1].event_id)
            if (result := await self._judged(key, events, verdict)) is not None:
                log.info("alert_handled", dedup_key=key, outcome=result.outcome, incident_id=str(incident_id))
                return result
            log.info("alert_raced", dedup_key=key, incident_id=str(incident_id), attempt=attempt, reason=verdict.reason)
        return AlertResult("rejected", key, detail=f"still racing other writers after {MAX_ATTEMPTS} attempts")

    async def _route(self, alert: a.NormalizedAlert, now: datetime) -> tuple[UUID, Incident | None]:
        """The incident this alert addresses: its key's current episode, via duplicate_of, or the next episode."""
        known = await self.read_model.incidents_of_key(alert.dedup_key)
        episode = route.current_episode(alert.dedup_key, set(known))
        if episode < 0:
            return route.episode_id(alert.dedup_key, 0), None
        target = known[route.episode_id(alert.dedup_key, episode)]
        for _ in range(MAX_HOPS):
            hop = route.duplicate_target(target)
            survivor = await self.read_model.incident(hop) if hop is not None else None
            if survivor is None:
                break
            target = survivor
        if route.needs_new_episode(target, alert, self.mapping.policy, now):
            return route.episode_id(alert.dedup_key, episode + 1), None
        return target.incident_id, target

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
            OUTCOMES[accepted.type], key, accepted.incident_id, _status(state), event_id=accepted.event_id
        )


def _status(state: Incident | None) -> str | None:
    return state.status.value if state is not None else None


def _errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [{"loc": [str(p) for p in err["loc"]], "msg": err["msg"], "type": err["type"]} for err in exc.errors()]
