"""What the public status page shows, built from the customers updates alone. Pure (docs/decisions/0081).

Components are the services the deployment lists (`INCIDENTS_STATUS_COMPONENTS`) plus every service an incident
with a customers update names, under the directory's name for it. A component is in a *major outage* while an open
incident on it with a customers update is P1 or declared major, *degraded* while any other such incident is open,
else *operational*. Incidents are known only by an opaque reference (a name-based UUID of their id); titles,
notes, people and priorities never leave this module's input.
"""

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from uuid import UUID

HISTORY_DAYS = 90
# Name-based public ids: stable across restarts and instances, not reversible to the internal ids.
STATUS_NAMESPACE = UUID("5b0f6f3e-1d2c-4e4b-9a57-2f1c0f4d8e61")


class Level(StrEnum):
    """A component's status, from best to worst."""

    OPERATIONAL = "operational"
    DEGRADED = "degraded"
    MAJOR_OUTAGE = "major outage"


Namer = Callable[[str], str]
RANK = {Level.OPERATIONAL: 0, Level.DEGRADED: 1, Level.MAJOR_OUTAGE: 2}


@dataclass(frozen=True)
class CustomerUpdate:
    """One update posted to the `customers` audience, with the few facts of its incident the page derives from."""

    event_id: UUID
    incident_id: UUID
    posted_at: datetime
    message: str
    service: str
    open: bool
    severe: bool  # P1 or declared major
    resolved_at: datetime | None


@dataclass(frozen=True)
class PublicUpdate:
    id: UUID  # public: STATUS_NAMESPACE-based
    posted_at: datetime
    message: str


@dataclass(frozen=True)
class PublicIncident:
    ref: str
    component: str
    level: Level  # its impact while open
    open: bool
    resolved_at: datetime | None
    updates: tuple[PublicUpdate, ...]  # newest first


@dataclass(frozen=True)
class Component:
    name: str
    level: Level


@dataclass(frozen=True)
class Day:
    day: date
    incidents: tuple[PublicIncident, ...]


@dataclass(frozen=True)
class StatusView:
    overall: Level
    components: tuple[Component, ...]
    current: tuple[PublicIncident, ...]  # open incidents, the most recently updated first
    history: tuple[Day, ...]  # the last HISTORY_DAYS days, today first
    updates: tuple[tuple[PublicIncident, PublicUpdate], ...]  # every update shown, newest first (the feed)


def public_id(internal: UUID) -> UUID:
    return uuid.uuid5(STATUS_NAMESPACE, str(internal))


def level_of(update: CustomerUpdate) -> Level:
    if not update.open:
        return Level.OPERATIONAL
    return Level.MAJOR_OUTAGE if update.severe else Level.DEGRADED


def worst(levels: Iterable[Level]) -> Level:
    return max(levels, key=RANK.__getitem__, default=Level.OPERATIONAL)


def build_view(
    updates: Iterable[CustomerUpdate], listed: Iterable[str], names: Mapping[str, str], now: datetime
) -> StatusView:
    """The page for `now` (tz-aware): `listed` are the configured components' service ids, `names` the
    directory's service names."""
    rows = sorted(updates, key=lambda u: (u.posted_at, u.event_id), reverse=True)
    name = _namer(names)
    incidents = _incidents(rows, name)
    levels: dict[str, list[Level]] = {name(service): [] for service in listed}
    for row in rows:
        levels.setdefault(name(row.service), []).append(level_of(row))
    components = tuple(Component(n, worst(found)) for n, found in sorted(levels.items()))
    current = tuple(i for i in incidents.values() if i.open)
    everything = tuple((incidents[r.incident_id], _public(r)) for r in rows)
    return StatusView(worst(c.level for c in components), components, current, _history(rows, name, now), everything)


def _namer(names: Mapping[str, str]) -> Namer:
    return lambda service: names.get(service, service)


def _public(row: CustomerUpdate) -> PublicUpdate:
    return PublicUpdate(public_id(row.event_id), row.posted_at, row.message)


def _incident(rows: list[CustomerUpdate], name: Namer) -> PublicIncident:
    first = rows[0]
    level = Level.MAJOR_OUTAGE if first.severe else Level.DEGRADED
    ref = public_id(first.incident_id).hex[:12]
    updates = tuple(_public(r) for r in rows)
    return PublicIncident(ref, name(first.service), level, first.open, first.resolved_at, updates)


def _incidents(rows: list[CustomerUpdate], name: Namer) -> dict[UUID, PublicIncident]:
    """Each incident with all its updates, newest first; dict order: the most recently updated first."""
    grouped: dict[UUID, list[CustomerUpdate]] = {}
    for row in rows:
        grouped.setdefault(row.incident_id, []).append(row)
    return {incident_id: _incident(group, name) for incident_id, group in grouped.items()}


def _history(rows: list[CustomerUpdate], name: Namer, now: datetime) -> tuple[Day, ...]:
    """Per day (UTC) of the last HISTORY_DAYS: the incidents with the updates posted that day."""
    today = now.astimezone(UTC).date()
    by_day: dict[date, list[CustomerUpdate]] = {}
    for row in rows:
        by_day.setdefault(row.posted_at.astimezone(UTC).date(), []).append(row)
    days = (today - timedelta(days=n) for n in range(HISTORY_DAYS))
    return tuple(Day(day, tuple(_incidents(by_day.get(day, []), name).values())) for day in days)
