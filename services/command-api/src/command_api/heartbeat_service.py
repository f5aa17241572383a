"""Heartbeats, read and pinged (docs/decisions/0076). Registering and removing one is a directory change (the
routes run it through `DirectoryService`); a ping is not: pings are frequent, so only the last one is kept, in
PostgreSQL (`HeartbeatStore`), and the log hears of a heartbeat only when an outage opens or ends an incident.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from command_api.alert_routing import current_of
from command_api.ports import Clock, IncidentReader, SystemClock
from incidents_shared.domain.directory.heartbeat import Heartbeat
from incidents_shared.domain.heartbeats import Reading, dedup_key, reading
from incidents_shared.domain.state import Incident


@dataclass(frozen=True)
class PingRow:
    last_ping_at: datetime
    pings: int


class HeartbeatStore(Protocol):
    """The last ping of each heartbeat (`heartbeat_store.PgHeartbeats`)."""

    async def ping(self, name: str, at: datetime) -> PingRow:
        """Record a ping: the heartbeat's last ping and count after it."""

    async def ping_of(self, name: str) -> PingRow | None:
        """The heartbeat's last ping, None when it was never pinged."""

    async def last_pings(self) -> dict[str, PingRow]:
        """Every heartbeat's last ping, by name."""


@dataclass(frozen=True)
class HeartbeatView:
    """A heartbeat as `GET /v1/heartbeats/{name}` shows it: its last ping, its state now, its open incident."""

    heartbeat: Heartbeat
    ping: PingRow | None
    reading: Reading
    incident: Incident | None


class UnknownHeartbeat(LookupError):
    """No heartbeat of that name is registered."""


async def open_incident(read_model: IncidentReader, name: str) -> Incident | None:
    """The incident of the heartbeat's current outage episode, when it is open."""
    key = dedup_key(name)
    incident, _ = current_of(f"heartbeat:{name}", key, await read_model.incidents_of_key(key))  # its watcher's (0090)
    return incident if incident is not None and incident.is_open else None


@dataclass
class HeartbeatService:
    heartbeats: Callable[[], Mapping[str, Heartbeat]]  # the directory's, as this instance folded it
    store: HeartbeatStore
    read_model: IncidentReader
    clock: Clock = field(default_factory=SystemClock)

    async def ping(self, name: str) -> HeartbeatView:
        """Record a ping now (UnknownHeartbeat for a name not registered) and show the heartbeat after it."""
        beat = self._known(name)
        ping = await self.store.ping(name, self.clock.now())
        return await self._view(beat, ping)

    async def view(self, name: str) -> HeartbeatView:
        beat = self._known(name)
        return await self._view(beat, await self.store.ping_of(name))

    async def views(self) -> list[HeartbeatView]:
        pings = await self.store.last_pings()
        beats = self.heartbeats()
        return [await self._view(beats[name], pings.get(name)) for name in sorted(beats)]

    def _known(self, name: str) -> Heartbeat:
        beat = self.heartbeats().get(name)
        if beat is None:
            raise UnknownHeartbeat(name)
        return beat

    async def _view(self, beat: Heartbeat, ping: PingRow | None) -> HeartbeatView:
        read = reading(beat, ping.last_ping_at if ping is not None else None, self.clock.now())
        return HeartbeatView(beat, ping, read, await open_incident(self.read_model, beat.name))
