"""Releasing what maintenance windows held (docs/decisions/0076): a supervised worker of every command API.

Every tick it looks for pending held alerts whose window is over (ended or cancelled) and locks a batch of
them for one transaction (`FOR UPDATE SKIP LOCKED`: with two API instances, each row is released by one). A row
another active window still matches moves to that window. One last reported resolved is released with nothing
to open. The others are decided as the alert they are, as if just received, on behalf of whoever sent them; an
incident they open (or reopen, or join) gets a note saying which window held them since when. A crash between
the append and the row's release is harmless: the alert's incident id is its key's episode, so a second attempt
joins the incident the first opened, and the note's id is deterministic. A window this instance has not folded
yet (another instance just created it) is not over: windows are never deleted, only cancelled.
"""

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import NAMESPACE_URL, UUID, uuid5

import structlog

from command_api.alerts_service import AlertService
from command_api.maintenance_hold import HeldRow
from command_api.outcomes import AlertResult, AlertsHandled
from command_api.ports import Clock, SystemClock
from command_api.system_events import SystemWriter, note, system_actor
from incidents_shared.domain import alerts as a
from incidents_shared.domain.directory.maintenance import MaintenanceWindow, WindowStatus, holding
from incidents_shared.domain.enums import AlertStatus
from incidents_shared.supervise import every

log = structlog.get_logger(__name__)
HELD_NS = uuid5(NAMESPACE_URL, "urn:incidents:maintenance-held")
ACTOR = system_actor("maintenance-windows")
BATCH = 50
NOTED = frozenset({"opened", "reopened", "correlated", "pending"})  # the release left an incident to note it on


class ReleaseBatch(Protocol):
    rows: list[HeldRow]

    async def released(self, row_id: int, outcome: str, incident_id: UUID | None, at: datetime) -> None:
        """Record what the release made of a row."""

    async def moved(self, row_id: int, window_id: str) -> None:
        """Another active window holds the row now."""


class HeldQueue(Protocol):
    async def pending_windows(self) -> set[str]:
        """The windows holding something still pending."""

    def claim(self, window_ids: Sequence[str], limit: int) -> AbstractAsyncContextManager[ReleaseBatch]:
        """Pending rows of these windows, locked for the block (rows others hold locked are skipped)."""


@dataclass
class MaintenanceRelease:
    windows: Callable[[], Mapping[str, MaintenanceWindow]]
    queue: HeldQueue
    alerts: AlertService
    writer: SystemWriter
    tick_s: float
    ready: Callable[[], Awaitable[None]]  # the directory folded up to its end (its windows known)
    clock: Clock = field(default_factory=SystemClock)

    async def run(self, stop: asyncio.Event) -> None:
        """Release every tick until `stop` (a restartable worker: an error restarts it after a backoff)."""
        await self.ready()
        await every(stop, self.tick_s, self.once)

    async def once(self) -> int:
        """Release (or move) one batch of what windows that are over held; how many rows it handled."""
        now, windows = self.clock.now(), self.windows()
        over = sorted(w for w in await self.queue.pending_windows() if w in windows and not windows[w].active_at(now))
        if not over:
            return 0
        async with self.queue.claim(over, BATCH) as batch:
            for row in batch.rows:
                await self._release(batch, row, windows, now)
        return len(batch.rows)

    async def _release(
        self, batch: ReleaseBatch, row: HeldRow, windows: Mapping[str, MaintenanceWindow], now: datetime
    ) -> None:
        if (other := holding(windows.values(), row.subjects, now)) is not None:
            log.info("held_alert_moved", dedup_key=row.dedup_key, window=row.window_id, to=other.id)
            await batch.moved(row.id, other.id)
            return
        if row.status is AlertStatus.RESOLVED:
            await batch.released(row.id, "resolved", None, now)
            return
        result = await self._decide(row)
        if result.outcome == "rejected" and result.incident_id is None:
            log.warning("held_alert_release_failed", dedup_key=row.dedup_key, detail=result.detail)
            return  # still pending: tried again next tick
        if result.incident_id is not None and result.outcome in NOTED:
            await self._note(row, result.incident_id, windows, now)
        await batch.released(row.id, result.outcome, result.incident_id, now)
        log.info("held_alert_released", dedup_key=row.dedup_key, window=row.window_id, outcome=result.outcome,
                 incident_id=str(result.incident_id))  # fmt: skip

    async def _decide(self, row: HeldRow) -> AlertResult:
        """Decide what the row held, as if it came now: one alert, an Alertmanager notification, or a group of
        the grouping rules; the result that names the incident (else the first)."""
        alerts, correlation = self.alerts.without_hold(), f"maintenance-release-{row.id}"
        if row.kind == "alert":
            return await alerts.receive_normalized(row.actor, correlation, a.NormalizedAlert.model_validate(row.alert))
        if row.kind == "grouped":
            members = [a.NormalizedAlert.model_validate(alert) for alert in row.alert.values()]
            results = await alerts.receive_grouped_alerts(row.actor, correlation, row.dedup_key, members)
        else:
            webhook = a.AlertmanagerWebhook.model_validate(row.alert["webhook"])
            items = [a.NormalizedAlert.model_validate(alert) for alert in row.alert["alerts"]]
            outcome = await alerts.receive_group(row.actor, correlation, webhook, items)
            results = outcome.results if isinstance(outcome, AlertsHandled) else []
        found = next((r for r in results if r.incident_id is not None), None)
        return found or (results[0] if results else AlertResult("rejected", row.dedup_key, detail="nothing decided"))

    async def _note(
        self, row: HeldRow, incident_id: UUID, windows: Mapping[str, MaintenanceWindow], now: datetime
    ) -> None:
        event_id = uuid5(HELD_NS, f"{row.id}:{row.dedup_key}")
        await self.writer.append(
            note(event_id, incident_id, ACTOR, held_note(row, windows), now, f"maintenance-{row.id}")
        )


def held_note(row: HeldRow, windows: Mapping[str, MaintenanceWindow]) -> str:
    """The timeline's account of a hold: which window(s), since when, what came meanwhile, why it ended."""
    names = ", ".join(row.windows)
    last = windows.get(row.window_id)
    ended = "is over"
    if last is not None:
        verb = "was cancelled" if last.status_at(last.closes_at) is WindowStatus.CANCELLED else "ended"
        ended = f"{verb} at {last.closes_at.isoformat()} (reason: {last.reason})"
    plural = "s" if len(row.windows) > 1 else ""
    return (
        f"Held by maintenance window{plural} {names} since {row.held_since.isoformat()}: {row.received} "
        f"notification(s) of alert {row.dedup_key} came while held, the last at {row.last_at.isoformat()}. "
        f"Decided now because the window {ended}; still firing."
    )
