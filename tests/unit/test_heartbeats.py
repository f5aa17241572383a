"""Heartbeats: up, late or down at an instant, the clock of one never pinged, the alert a missed one raises, and
the directory's register/replace/remove rules."""

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

import pytest
from pydantic import ValidationError

from incidents_shared.domain import directory as d
from incidents_shared.domain.directory.errors import DirectoryError, ResourceNotFound
from incidents_shared.domain.directory.heartbeat import Heartbeat
from incidents_shared.domain.directory.noise import RegisterHeartbeat, RemoveHeartbeat
from incidents_shared.domain.enums import ActorKind, AlertStatus, Priority
from incidents_shared.domain.events import Actor
from incidents_shared.domain.heartbeats import Health, dedup_key, missed_alert, reading
from incidents_shared.domain.priority import priority_for

T0 = datetime(2027, 3, 1, 3, tzinfo=UTC)
NS = UUID("7a1d5e40-8d0a-4d53-9a0e-4a8f9d1c2b02")
MANAGER = Actor(id="maria", kind=ActorKind.USER, role="manager")


def beat(name: str = "nightly-backup", **fields: Any) -> Heartbeat:
    body = {"name": name, "interval": "10s", "grace": "5s", "service": "backups", "priority": "P2"}
    return Heartbeat.model_validate(body | fields)


def registered(**fields: Any) -> Heartbeat:
    return beat(**fields).model_copy(update={"registered_at": T0})


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("last_ping", "now", "health"),
    [
        (0, 0, Health.UP),
        (0, 10, Health.UP),
        (0, 10.5, Health.LATE),
        (0, 15, Health.LATE),
        (0, 15.001, Health.DOWN),
        (100, 114, Health.LATE),
        (100, 116, Health.DOWN),
        (None, 9, Health.UP),  # never pinged: the clock starts at the registration
        (None, 16, Health.DOWN),
    ],
)
def test_up_within_the_interval_late_within_the_grace_down_after(
    last_ping: float | None, now: float, health: Health
) -> None:
    ping = at(last_ping) if last_ping is not None else None
    read = reading(registered(), ping, at(now))
    assert read.health is health
    start = ping or T0
    assert (read.since, read.due_at, read.down_at, read.pinged) == (
        start, start + timedelta(seconds=10), start + timedelta(seconds=15), ping is not None,
    )  # fmt: skip


def test_a_ping_before_the_registration_does_not_count() -> None:
    read = reading(registered(), at(-3600), at(9))
    assert (read.health, read.since, read.pinged) == (Health.UP, T0, False)


def test_a_missed_heartbeat_is_a_firing_alert_of_its_service_at_its_priority() -> None:
    read = reading(registered(), at(100), at(120))
    alert = missed_alert(registered(), read)
    assert (alert.source, alert.dedup_key, alert.status, alert.service) == (
        "heartbeat", "heartbeat:nightly-backup", AlertStatus.FIRING, "backups",
    )  # fmt: skip
    assert priority_for(alert.impact, alert.urgency) is Priority.P2
    assert alert.starts_at == at(115) and alert.labels == {"heartbeat": "nightly-backup"}
    assert "last ping" in alert.description and dedup_key("x") == "heartbeat:x"
    never = missed_alert(registered(), reading(registered(), None, at(20)))
    assert "never pinged" in never.description


@pytest.mark.parametrize("priority", list(Priority))
def test_every_priority_maps_back_to_itself(priority: Priority) -> None:
    alert = missed_alert(registered(priority=priority), reading(registered(priority=priority), None, at(20)))
    assert priority_for(alert.impact, alert.urgency) is priority


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"interval": "1s"}, "must be between"),
        ({"interval": "32d"}, "must be between"),
        ({"grace": "-1s"}, "not a duration"),
        ({"interval": "often"}, "not a duration"),
        ({"interval": "99999999999999999d"}, "too long"),
        ({"priority": "P9"}, "priority"),
        ({"name": "Nightly Backup"}, "is not an id"),
    ],
)
def test_a_heartbeat_is_refused_naming_what_is_wrong(fields: dict[str, Any], text: str) -> None:
    with pytest.raises(ValidationError, match=text):
        beat(**fields)


def test_durations_read_short_iso_and_seconds() -> None:
    assert beat(interval="PT1M", grace=30).interval == timedelta(minutes=1)
    assert beat(interval="1h", grace="0s").grace == timedelta(0)


# --- the directory's rules ----------------------------------------------------------------------------------


def meta(seconds: float, n: int) -> d.DirectoryMeta:
    return d.DirectoryMeta(uuid5(NS, str(n)), MANAGER, at(seconds), "corr")


def test_register_replace_keeps_the_first_registration_and_remove_then_register_starts_again() -> None:
    state = d.DirectoryState()
    steps: list[tuple[float, d.DirectoryCommand]] = [
        (0, RegisterHeartbeat(heartbeat=beat())),
        (60, RegisterHeartbeat(heartbeat=beat(interval="1m", priority="P1"))),
    ]
    for n, (seconds, command) in enumerate(steps):
        [event] = d.decide(state, command, meta(seconds, n))
        state = d.evolve(state, event)
    kept = state.heartbeats["nightly-backup"]
    assert (kept.interval, kept.priority, kept.registered_at) == (timedelta(minutes=1), Priority.P1, T0)
    for n, (seconds, command) in enumerate(
        [(70, RemoveHeartbeat(name="nightly-backup")), (80, RegisterHeartbeat(heartbeat=beat()))], start=2
    ):
        [event] = d.decide(state, command, meta(seconds, n))
        state = d.evolve(state, event)
        assert d.decode(event.model_dump_json()) == event
    assert state.heartbeats["nightly-backup"].registered_at == at(80)
    assert state.revision(d.Kind.HEARTBEAT, "nightly-backup") == 4


def test_removing_an_unknown_heartbeat_is_not_found_and_commands_never_carry_the_registration() -> None:
    with pytest.raises(DirectoryError) as caught:
        d.decide(d.DirectoryState(), RemoveHeartbeat(name="nope"), meta(0, 9))
    assert isinstance(caught.value, ResourceNotFound)
    with pytest.raises(ValidationError, match="registered_at"):
        RegisterHeartbeat(heartbeat=registered())
