"""Watching heartbeats (docs/decisions/0076): a supervised worker of every command API.

Every tick it reads each heartbeat's last ping and open outage from PostgreSQL and the heartbeats from the
directory, so the timing survives any restart: nothing is kept in memory between ticks.

- A heartbeat down (no ping within interval + grace of its last ping, or of its registration) with no open
  outage: the outage is claimed by inserting its row (name, since); with two API instances only one insert
  wins, and it opens the incident in the same transaction, through the alert path (a maintenance window holds it
  like any alert). A crash before the commit leaves no claim, and the next attempt joins the incident the first
  may have opened (the alert's incident id is its key's episode).
- A later ping recovers the outage (claimed the same way) and resolves its incident as the system, whether or not
  someone acknowledged it: the job is back, so the outage it stood for is over. A heartbeat removed from the
  directory recovers its open outage too.
"""

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import NAMESPACE_URL, UUID, uuid5

import structlog

from command_api.alerts_service import AlertService
from command_api.heartbeat_service import HeartbeatStore, open_incident
from command_api.ports import Clock, SystemClock
from command_api.system_events import SystemWriter, resolution, system_actor
from incidents_shared.domain.directory.heartbeat import Heartbeat
from incidents_shared.domain.directory.model import Kind
from incidents_shared.domain.directory.state import DirectoryState
from incidents_shared.domain.enums import ActorKind, Role
from incidents_shared.domain.events import Actor
from incidents_shared.domain.heartbeats import Health, Reading, dedup_key, missed_alert, reading
from incidents_shared.supervise import every

log = structlog.get_logger(__name__)
RESOLVED_NS = uuid5(NAMESPACE_URL, "urn:incidents:heartbeat-recovered")


@dataclass(frozen=True)
class Outage:
    name: str
    since: datetime
    down_at: datetime


class OutageClaim(Protocol):
    async def opened(self, outcome: str, incident_id: UUID | None) -> None:
        """Record what the alert path made of the outage (committed with the claim)."""


class OutageClaims(Protocol):
    """The outages of heartbeats (`heartbeat_store.PgHeartbeats`)."""

    async def open_outages(self) -> dict[str, Outage]:
        """Every outage not recovered yet, by heartbeat name."""

    def claim(self, outage: Outage, at: datetime) -> AbstractAsyncContextManager[OutageClaim | None]:
        """The outage claimed for the block (None: claimed already, or a ping came since): its transaction."""

    def recovering(self, outage: Outage, at: datetime, how: str) -> AbstractAsyncContextManager[bool]:
        """Whether this caller recovers the outage (a transaction for the block: an error undoes it)."""


class NotOpened(RuntimeError):
    """The alert path did not open the outage's incident: the claim is undone, and tried again next tick."""


def watcher_actor(name: str) -> Actor:
    return Actor(id=f"heartbeat:{name}", kind=ActorKind.SERVICE, role=Role.INTEGRATION.value)


@dataclass
class HeartbeatWatch:
    directory: Callable[[], DirectoryState]  # as this instance folded it
    pings: HeartbeatStore
    outages: OutageClaims
    alerts: AlertService
    writer: SystemWriter
    tick_s: float
    ready: Callable[[], Awaitable[None]]  # the directory folded up to its end (its heartbeats known)
    clock: Clock = field(default_factory=SystemClock)

    async def run(self, stop: asyncio.Event) -> None:
        """Check every tick until `stop` (a restartable worker: an error restarts it after a backoff)."""
        await self.ready()
        await every(stop, self.tick_s, self.once)

    async def once(self) -> None:
        now, state = self.clock.now(), self.directory()
        beats = state.heartbeats
        pings, outages = await self.pings.last_pings(), await self.outages.open_outages()
        for name, beat in beats.items():
            ping = pings.get(name)
            last = ping.last_ping_at if ping is not None else None
            outage = outages.get(name)
            if outage is not None and last is not None and last > outage.since:
                await self._recover(outage, now, "pinged", f"pinged again at {last.isoformat()}")
            elif outage is None and (read := reading(beat, last, now)).health is Health.DOWN:
                await self._open(beat, read, now)
        for name, outage in outages.items():
            if name not in beats and state.revision(Kind.HEARTBEAT, name) > 0:  # removed (not merely unknown yet)
                await self._recover(outage, now, "removed", "was removed from the directory")

    async def _open(self, beat: Heartbeat, read: Reading, now: datetime) -> None:
        outage = Outage(beat.name, read.since, read.down_at)
        try:
            async with self.outages.claim(outage, now) as claim:
                if claim is None:
                    return
                correlation = f"heartbeat-{beat.name}-{read.since.isoformat()}"
                alert = missed_alert(beat, read)
                result = await self.alerts.receive_normalized(watcher_actor(beat.name), correlation, alert)
                if result.outcome in ("rejected", "invalid"):
                    raise NotOpened(result.detail or result.outcome)
                await claim.opened(result.outcome, result.incident_id)
        except NotOpened as exc:
            log.warning("heartbeat_outage_not_opened", name=beat.name, detail=str(exc))
            return
        log.info("heartbeat_down", name=beat.name, since=read.since.isoformat(), outcome=result.outcome,
                 incident_id=str(result.incident_id))  # fmt: skip

    async def _recover(self, outage: Outage, now: datetime, how: str, why: str) -> None:
        async with self.outages.recovering(outage, now, how) as mine:
            if mine:
                resolved = await self._resolve(outage, now, why)
        if mine:
            log.info("heartbeat_up", name=outage.name, how=how, resolved=str(resolved))

    async def _resolve(self, outage: Outage, now: datetime, why: str) -> UUID | None:
        """The outage's alert fires no more: a window holding it records that, an open incident is resolved."""
        await self.alerts.hold.resolved(dedup_key(outage.name), now)
        incident = await open_incident(self.alerts.read_model, outage.name)
        if incident is None:
            return None
        summary = f"Heartbeat {outage.name} {why}: down since {outage.down_at.isoformat()}, up again."
        event_id = uuid5(RESOLVED_NS, f"{outage.name}:{outage.since.isoformat()}")
        actor, correlation = system_actor(f"heartbeat:{outage.name}"), f"heartbeat-{outage.name}-recovered"
        await self.writer.append(resolution(event_id, incident.incident_id, actor, summary, now, correlation))
        return incident.incident_id
