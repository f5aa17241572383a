"""Heartbeats in time (docs/decisions/0076): up, late or down at an instant, and the alert a missed one raises.

The clock of a heartbeat starts at its last ping, or at its registration while it was never pinged. Up within
`interval` of that, late within `interval` + `grace`, down after. A down heartbeat is one outage until a later
ping; the command API's watcher opens its incident through the alert path (so maintenance windows hold it like
any alert) and resolves it at the next ping. Pure: the time is passed in.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from incidents_shared.domain.alerts import NormalizedAlert
from incidents_shared.domain.directory.heartbeat import Heartbeat
from incidents_shared.domain.enums import AlertStatus, Level, Priority

SOURCE = "heartbeat"
LEVELS: dict[Priority, tuple[Level, Level]] = {  # (impact, urgency) the priority matrix maps to each priority
    Priority.P1: (Level.HIGH, Level.HIGH),
    Priority.P2: (Level.HIGH, Level.MEDIUM),
    Priority.P3: (Level.MEDIUM, Level.MEDIUM),
    Priority.P4: (Level.MEDIUM, Level.LOW),
    Priority.P5: (Level.LOW, Level.LOW),
}


class Health(StrEnum):
    UP = "up"
    LATE = "late"  # past its interval, within its grace
    DOWN = "down"  # past interval + grace: an outage


@dataclass(frozen=True)
class Reading:
    """A heartbeat at one instant. `since`: the last ping, or the registration of one never pinged."""

    health: Health
    since: datetime
    due_at: datetime  # since + interval
    down_at: datetime  # since + interval + grace
    pinged: bool  # `since` is a ping (not the registration)


def since(heartbeat: Heartbeat, last_ping: datetime | None) -> datetime:
    """Where its clock starts: the last ping, never before the (first) registration."""
    registered = heartbeat.registered_at
    assert registered is not None, "the directory's fold sets registered_at"
    return registered if last_ping is None else max(last_ping, registered)


def reading(heartbeat: Heartbeat, last_ping: datetime | None, at: datetime) -> Reading:
    start = since(heartbeat, last_ping)
    due, down = start + heartbeat.interval, start + heartbeat.interval + heartbeat.grace
    health = Health.UP if at <= due else Health.LATE if at <= down else Health.DOWN
    return Reading(health, start, due, down, pinged=start == last_ping)


def dedup_key(name: str) -> str:
    """The alert key of a heartbeat's outages: each opens its incident as an alert episode of this key."""
    return f"heartbeat:{name}"


def missed_alert(heartbeat: Heartbeat, read: Reading) -> NormalizedAlert:
    """The firing alert a down heartbeat raises: for its service, at its priority, starting when it went down."""
    impact, urgency = LEVELS[heartbeat.priority]
    when = read.since.isoformat()
    basis = f"its last ping at {when}" if read.pinged else f"its registration at {when} (never pinged since)"
    description = (
        f"No ping within {heartbeat.interval} (+ {heartbeat.grace} grace) of {basis}; down since "
        f"{read.down_at.isoformat()}. A ping to /v1/heartbeats/{heartbeat.name}/ping resolves it."
    )
    return NormalizedAlert(
        source=SOURCE,
        dedup_key=dedup_key(heartbeat.name),
        fingerprint=dedup_key(heartbeat.name),
        status=AlertStatus.FIRING,
        severity=heartbeat.priority.value,
        summary=f"Heartbeat {heartbeat.name} missed: no ping since {read.since.isoformat()}"[:200],
        description=description,
        service=heartbeat.service,
        labels={"heartbeat": heartbeat.name},
        impact=impact,
        urgency=urgency,
        starts_at=read.down_at,
    )
