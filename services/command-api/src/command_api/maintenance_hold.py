"""Maintenance windows at alert ingestion (docs/decisions/0076).

An alert that would open (or reopen) an incident while an active window matches it is held: recorded in the
`HeldStore`, answered `suppressed`, and decided again by `maintenance_release` once no window holds it. A
resolved alert of a held key marks it resolved, so a window's end opens only what still fires. An alert that
joins an open incident is never held, and what people log (POST /v1/incidents) never comes here. An
Alertmanager group is held whole when one window matches every firing alert of the notification; so is a group
of the mapping's grouping rules (decision 0077), whose later alerts are merged into what is held.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from pydantic import ValidationError

from command_api.alert_routing import route_to
from command_api.outcomes import AlertResult, AlertsHandled, AlertsOutcome
from command_api.ports import IncidentReader
from incidents_shared.domain import alerts as a
from incidents_shared.domain import events as e
from incidents_shared.domain.alert_groups import is_firing, notice_of
from incidents_shared.domain.directory.maintenance import MaintenanceWindow, Subject, holding
from incidents_shared.domain.enums import AlertStatus
from incidents_shared.domain.events import Actor, EventBase
from incidents_shared.domain.taxonomy import Taxonomy

OPENING = (e.IncidentLogged, e.IncidentReopened)
Items = Sequence[a.NormalizedAlert | AlertResult]


@dataclass(frozen=True)
class Held:
    """One alert (or Alertmanager group) a window holds; `alert` is what the release decides, as JSON: the alert
    as normalized when it came, or the webhook with its alerts as normalized (under the mapping then in force)."""

    window_id: str
    dedup_key: str
    kind: str  # "alert": a NormalizedAlert; "group": an Alertmanager webhook; "grouped": alerts by fingerprint
    source: str
    service: str
    summary: str
    status: AlertStatus
    subjects: list[Subject]
    alert: dict[str, Any]
    actor: Actor
    at: datetime


@dataclass(frozen=True)
class HeldRow:
    """A held alert as recorded: pending while `released_at` is None, then what its release made of it."""

    id: int
    window_id: str
    windows: list[str]
    dedup_key: str
    kind: str
    source: str
    service: str
    summary: str
    status: AlertStatus
    subjects: list[Subject]
    alert: dict[str, Any]
    actor: Actor
    held_since: datetime
    last_at: datetime
    received: int
    released_at: datetime | None
    outcome: str | None
    incident_id: UUID | None


class HeldStore(Protocol):
    """Where held alerts are recorded (`maintenance_store.PgHeldAlerts`)."""

    async def hold(self, held: Held) -> None:
        """Record a held alert, or its newest notification while its key is already held."""

    async def resolved(self, dedup_key: str, at: datetime) -> str | None:
        """Record the held alert of `dedup_key` as resolved: the window holding it, None when none holds it."""

    async def merged(self, dedup_key: str, alerts: dict[str, Any], at: datetime) -> str | None:
        """Merge alerts (by fingerprint) into the held group of `dedup_key`: its window, None when none is held."""


class HeldLister(Protocol):
    async def of_window(self, window_id: str, limit: int) -> list[HeldRow]:
        """What a window held (pending or released), oldest first."""


class AlertHold(Protocol):
    """What the alert use case asks before it opens an incident."""

    async def alert(
        self, alert: a.NormalizedAlert, actor: Actor, events: list[EventBase], now: datetime
    ) -> AlertResult | None:
        """`events`: what the alert would append. The `suppressed` result when it is held, else None."""

    async def group(
        self, webhook: a.AlertmanagerWebhook, items: Items, actor: Actor, now: datetime
    ) -> AlertsOutcome | None:
        """The notification's results when it is held (one per alert), else None."""

    async def grouped(
        self, key: str, alerts: Sequence[a.NormalizedAlert], actor: Actor, now: datetime
    ) -> AlertResult | None:
        """Alerts a grouping rule groups under `key`: the result for each of them when they are held, else None."""

    async def resolved(self, dedup_key: str, now: datetime) -> str | None:
        """A held key's source reported it resolved: the window holding it, or None."""


class NoHold:
    """No maintenance windows: nothing is ever held."""

    async def alert(
        self, alert: a.NormalizedAlert, actor: Actor, events: list[EventBase], now: datetime
    ) -> AlertResult | None:
        return None

    async def group(
        self, webhook: a.AlertmanagerWebhook, items: Items, actor: Actor, now: datetime
    ) -> AlertsOutcome | None:
        return None

    async def grouped(
        self, key: str, alerts: Sequence[a.NormalizedAlert], actor: Actor, now: datetime
    ) -> AlertResult | None:
        return None

    async def resolved(self, dedup_key: str, now: datetime) -> str | None:
        return None


NO_HOLD = NoHold()


def suppressed(dedup_key: str, window: MaintenanceWindow) -> AlertResult:
    detail = f"held by maintenance window {window.id} until {window.closes_at.isoformat()}: no incident, no page"
    return AlertResult("suppressed", dedup_key, detail=detail)


def resolved_while_held(dedup_key: str, window_id: str) -> AlertResult:
    return AlertResult("suppressed", dedup_key, detail=f"resolved while held by maintenance window {window_id}")


@dataclass
class MaintenanceHold:
    """The `AlertHold` of the windows in the directory (`windows()`: every window, as this instance folded them)."""

    windows: Callable[[], Iterable[MaintenanceWindow]]
    store: HeldStore
    read_model: IncidentReader
    mapping: a.AlertMapping
    taxonomy: Taxonomy

    async def alert(
        self, alert: a.NormalizedAlert, actor: Actor, events: list[EventBase], now: datetime
    ) -> AlertResult | None:
        if alert.status is AlertStatus.RESOLVED:
            nothing_held = events or next(iter(self.windows()), None) is None  # no window ever: no query
            window_id = None if nothing_held else await self.resolved(alert.dedup_key, now)
            return resolved_while_held(alert.dedup_key, window_id) if window_id is not None else None
        if not events or not isinstance(events[0], OPENING):
            return None
        window = holding(self.windows(), [(alert.service, alert.labels)], now)
        if window is None:
            return None
        subjects: list[Subject] = [(alert.service, alert.labels)]
        held = Held(window.id, alert.dedup_key, "alert", alert.source, alert.service, alert.summary, alert.status,
                    subjects, alert.model_dump(mode="json"), actor, now)  # fmt: skip
        await self.store.hold(held)
        return suppressed(alert.dedup_key, window)

    async def group(
        self, webhook: a.AlertmanagerWebhook, items: Items, actor: Actor, now: datetime
    ) -> AlertsOutcome | None:
        windows = list(self.windows())
        notice = self._notice(webhook, items) if windows else None
        if notice is None:
            return None
        firing = [alert for alert in notice.alerts if is_firing(alert)]
        policy = self.mapping.policy
        _, state = await route_to(self.read_model, notice.dedup_key, bool(firing), policy, now, owner=actor.id)
        if state is not None and state.is_open:
            return None  # it joins its incident
        if not firing:
            window_id = await self.resolved(notice.dedup_key, now)
            return _each(items, resolved_while_held(notice.dedup_key, window_id)) if window_id else None
        subjects: list[Subject] = [(alert.service, alert.labels) for alert in firing]
        window = holding(windows, subjects, now)
        if window is None:
            return None
        opening, raw = notice.opening, webhook.model_dump(mode="json", by_alias=True)
        received = {"webhook": raw, "alerts": [alert.model_dump(mode="json") for alert in notice.alerts]}
        held = Held(window.id, notice.dedup_key, "group", notice.source, opening.service, opening.summary,
                    AlertStatus.FIRING, subjects, received, actor, now)  # fmt: skip
        await self.store.hold(held)
        return _each(items, suppressed(notice.dedup_key, window))

    async def grouped(
        self, key: str, alerts: Sequence[a.NormalizedAlert], actor: Actor, now: datetime
    ) -> AlertResult | None:
        windows = list(self.windows())
        if not windows or not alerts:
            return None
        firing = [alert for alert in alerts if is_firing(alert)]
        _, state = await route_to(self.read_model, key, bool(firing), self.mapping.policy, now, owner=actor.id)
        if state is not None and state.is_open:
            return None  # they join its incident
        by_fingerprint = {alert.fingerprint: alert.model_dump(mode="json") for alert in alerts}
        subjects: list[Subject] = [(alert.service, alert.labels) for alert in firing]
        window = holding(windows, subjects, now)
        if window is None:  # not held; a recovery of alerts a window holds is merged into what it holds, though
            recovered = {fp: alert for fp, alert in by_fingerprint.items() if alert["status"] == AlertStatus.RESOLVED}
            window_id = await self.store.merged(key, recovered, now) if recovered else None
            return resolved_while_held(key, window_id) if window_id is not None and not firing else None
        first = alerts[0]
        held = Held(window.id, key, "grouped", first.source, first.service, first.summary, AlertStatus.FIRING,
                    subjects, by_fingerprint, actor, now)  # fmt: skip
        await self.store.hold(held)
        return suppressed(key, window)

    async def resolved(self, dedup_key: str, now: datetime) -> str | None:
        return await self.store.resolved(dedup_key, now)

    def _notice(self, webhook: a.AlertmanagerWebhook, items: Items) -> a.AlertGroupNotice | None:
        alerts = [item for item in items if isinstance(item, a.NormalizedAlert)]
        try:
            return notice_of(webhook, alerts, self.mapping, self.taxonomy)
        except ValidationError:
            return None  # the group use case answers it, naming what is wrong


def _each(items: Items, result: AlertResult) -> AlertsHandled:
    """One result per alert of a notification: the invalid ones as they were, the others `result`."""
    return AlertsHandled([item if isinstance(item, AlertResult) else result for item in items])
