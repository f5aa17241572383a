"""The alert use case: route each alert to its incident, decide, append, wait for the verdict; re-decide on races.

Racing alerts of one key all address the same incident (its id is derived from the key and the episode), so the
log judges them one after the other; an alert whose event the log rejected (an `incident.logged` that lost the
race) is decided again on the state the winner left, and becomes a correlation.
"""

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import structlog
from prometheus_client import Counter

from command_api.readmodel import ReadModel, VerdictRow
from command_api.verdicts import VerdictWaiter
from incidents_shared.appender import KafkaAppender
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


@dataclass(frozen=True)
class AlertResult:
    """What became of one alert of a request."""

    outcome: str  # opened|correlated|resolved|reopened|noted|ignored|invalid|rejected|pending
    dedup_key: str | None = None
    incident_id: UUID | None = None
    status: str | None = None
    detail: str | None = None
    event_id: UUID | None = None
    errors: list[dict[str, Any]] | None = None

    def public(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "dedup_key": self.dedup_key,
            "outcome": self.outcome,
            "incident_id": self.incident_id and str(self.incident_id),
            "status": self.status,
        }
        extra = {"detail": self.detail, "event_id": self.event_id and str(self.event_id), "errors": self.errors}
        return body | {k: v for k, v in extra.items() if v is not None}


@dataclass
class AlertService:
    read_model: ReadModel
    appender: KafkaAppender
    waiter: VerdictWaiter
    mapping: a.AlertMapping
    taxonomy: Taxonomy
    verdict_timeout_s: float

    async def receive(
        self, actor: Actor, correlation_id: str, alerts: list[a.NormalizedAlert | AlertResult]
    ) -> list[AlertResult]:
        """Each alert on its own; alerts of one key in the order given, different keys concurrently."""
        results: list[AlertResult | None] = [item if isinstance(item, AlertResult) else None for item in alerts]
        by_key: dict[str, list[tuple[int, a.NormalizedAlert]]] = defaultdict(list)
        for index, item in enumerate(alerts):
            if isinstance(item, a.NormalizedAlert):
                by_key[item.dedup_key].append((index, item))

        async def run(group: list[tuple[int, a.NormalizedAlert]]) -> None:
            for index, alert in group:
                results[index] = await self._one(alert, actor, correlation_id)

        await asyncio.gather(*(run(group) for group in by_key.values()))
        return [result for result in results if result is not None]

    async def _one(self, alert: a.NormalizedAlert, actor: Actor, correlation_id: str) -> AlertResult:
        result = await self._decide_and_append(alert, actor, correlation_id)
        ALERTS.labels(alert.source, result.outcome).inc()
        return result

    async def _decide_and_append(self, alert: a.NormalizedAlert, actor: Actor, correlation_id: str) -> AlertResult:
        key = alert.dedup_key
        for attempt in range(MAX_ATTEMPTS):
            now = datetime.now(UTC)
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
        known = await self._incidents_of_key(alert.dedup_key)
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

    async def _incidents_of_key(self, dedup_key: str) -> dict[UUID, Incident]:
        rows = await self.read_model.pool.fetch("SELECT state FROM incidents WHERE dedup_key = $1", dedup_key)
        return {(s := Incident.model_validate(r["state"])).incident_id: s for r in rows}

    async def _append(self, events: list[EventBase]) -> VerdictRow | None:
        last = events[-1].event_id
        future = self.waiter.expect(last)
        await self.appender.append(events)
        return await self.waiter.wait(last, future, self.verdict_timeout_s)

    async def _judged(self, key: str, events: list[EventBase], last: VerdictRow) -> AlertResult | None:
        """The outcome named by the first accepted event (a refire reopens and counts), None when all lost a race."""
        first = last if len(events) == 1 else await self.read_model.verdict(events[0].event_id)
        accepted = next((v for v in (first, last) if v is not None and v.verdict == "accepted"), None)
        if accepted is None:
            return None
        state = await self.read_model.incident(accepted.incident_id)
        return AlertResult(
            OUTCOMES[accepted.type], key, accepted.incident_id, _status(state), event_id=accepted.event_id
        )


def _status(state: Incident | None) -> str | None:
    return state.status.value if state is not None else None
