"""Maintenance windows: what they match, when they are active, which one holds an alert, and the directory's
rules for them (judged by the change's own time, so the fold reaches the same verdict)."""

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

import pytest
from pydantic import ValidationError

from incidents_shared.domain import directory as d
from incidents_shared.domain.directory.errors import (
    DirectoryError,
    InvalidDirectoryChange,
    ResourceExists,
    ResourceNotFound,
)
from incidents_shared.domain.directory.maintenance import MaintenanceWindow, WindowStatus, holding
from incidents_shared.domain.directory.noise import (
    NOISE_COMMANDS,
    CancelMaintenanceWindow,
    CreateMaintenanceWindow,
    UpdateMaintenanceWindow,
)
from incidents_shared.domain.directory.permissions import who_may_ever
from incidents_shared.domain.enums import ActorKind, Role
from incidents_shared.domain.events import Actor

T0 = datetime(2027, 3, 1, 22, tzinfo=UTC)
NS = UUID("6f0c5e40-8d0a-4d53-9a0e-4a8f9d1c2b01")
MANAGER = Actor(id="maria", kind=ActorKind.USER, role="manager")


def window(
    window_id: str = "db-upgrade", start_min: float = 0, end_min: float = 60, **fields: Any
) -> MaintenanceWindow:
    body = {"id": window_id, "services": ["checkout"], "reason": "database upgrade"}
    times = {"start": T0 + timedelta(minutes=start_min), "end": T0 + timedelta(minutes=end_min)}
    return MaintenanceWindow.model_validate(body | times | fields)


def meta(minutes: float) -> d.DirectoryMeta:
    return d.DirectoryMeta(uuid5(NS, str(next(_ids))), MANAGER, T0 + timedelta(minutes=minutes), "corr")


_ids = itertools.count()


def applied(*steps: tuple[float, d.DirectoryCommand]) -> d.DirectoryState:
    state = d.DirectoryState()
    for minutes, command in steps:
        for event in d.decide(state, command, meta(minutes)):
            state = d.evolve(state, event)
    return state


def refused(state: d.DirectoryState, minutes: float, command: d.DirectoryCommand) -> Any:
    with pytest.raises(DirectoryError) as caught:
        d.decide(state, command, meta(minutes))
    return caught.value


# --- matching -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "service", "labels", "matches"),
    [
        ({"services": ["checkout"]}, "checkout", {}, True),
        ({"services": ["checkout"]}, "payments", {"env": "prod"}, False),
        ({"services": [], "matchers": ["env=staging"]}, "anything", {"env": "staging"}, True),
        ({"services": [], "matchers": ["env=staging"]}, "anything", {"env": "prod"}, False),
        ({"services": [], "matchers": ["env=staging"]}, "anything", {}, False),
        ({"services": ["checkout"], "matchers": ["env=staging"]}, "checkout", {"env": "prod"}, False),
        ({"services": ["checkout"], "matchers": ["env=staging"]}, "checkout", {"env": "staging"}, True),
        ({"services": [], "matchers": ["env=staging", "az=b"]}, "x", {"env": "staging", "az": "a"}, False),
        ({"services": [], "matchers": ["url=https://x/?a=b"]}, "x", {"url": "https://x/?a=b"}, True),
        ({"services": [], "matchers": ["note="]}, "x", {"note": ""}, True),
    ],
)
def test_a_window_matches_its_services_and_every_matcher(
    fields: dict[str, Any], service: str, labels: dict[str, str], matches: bool
) -> None:
    assert window(**fields).matches(service, labels) is matches


@pytest.mark.parametrize(
    ("minute", "status"),
    [(-1, WindowStatus.SCHEDULED), (0, WindowStatus.ACTIVE), (59.9, WindowStatus.ACTIVE), (60, WindowStatus.ENDED)],
)
def test_a_window_is_active_over_start_to_end(minute: float, status: WindowStatus) -> None:
    at = T0 + timedelta(minutes=minute)
    assert window().status_at(at) is status
    assert window().active_at(at) is (status is WindowStatus.ACTIVE)


def test_a_cancelled_window_stops_holding_when_cancelled_and_is_history_after() -> None:
    cancelled = window(cancelled_at=T0 + timedelta(minutes=10))
    assert cancelled.status_at(T0 + timedelta(minutes=9)) is WindowStatus.ACTIVE
    assert cancelled.status_at(T0 + timedelta(minutes=10)) is WindowStatus.CANCELLED
    assert cancelled.status_at(T0 + timedelta(hours=5)) is WindowStatus.CANCELLED
    assert cancelled.closes_at == T0 + timedelta(minutes=10)
    assert window().closes_at == T0 + timedelta(minutes=60)


def test_the_window_that_holds_is_active_matches_every_subject_and_closes_last() -> None:
    short, long = window("short", end_min=30), window("long", end_min=90)
    staging = window("staging", services=[], matchers=["env=staging"], end_min=120)
    later = window("later", start_min=5, end_min=500)
    windows = [short, long, staging, later]
    prod, stage = ("checkout", {"env": "prod"}), ("checkout", {"env": "staging"})
    assert holding(windows, [prod], T0) == long
    assert holding(windows, [stage], T0) == staging
    assert holding(windows, [prod, ("payments", {"env": "prod"})], T0) is None, "one window must cover all"
    assert holding(windows, [prod], T0 + timedelta(minutes=10)) == later
    assert holding(windows, [], T0) is None
    assert holding([window("b"), window("a")], [prod], T0) == window("a"), "equals: the smallest id"


@pytest.mark.parametrize(
    ("fields", "loc_text"),
    [
        ({"services": [], "matchers": []}, "name services, matchers or both"),
        ({"matchers": ["env"]}, "is not a matcher"),
        ({"matchers": ["=prod"]}, "is not a matcher"),
        ({"end": T0 - timedelta(minutes=1)}, "end: must be after start"),
        ({"end": T0 + timedelta(days=32)}, "at most 31 days"),
        ({"start": datetime(1960, 1, 1, tzinfo=UTC)}, "must lie between 1970"),
        ({"end": "9999-12-31T23:59:59-23:59"}, "out of range"),
        ({"reason": ""}, "at least 1 character"),
        ({"id": "Not A Slug"}, "is not an id"),
    ],
)
def test_a_window_is_refused_naming_what_is_wrong(fields: dict[str, Any], loc_text: str) -> None:
    with pytest.raises(ValidationError, match=loc_text):
        window(**fields)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        window(start=datetime(2027, 3, 1, 22))  # naive: the point of the test


# --- the directory's rules ----------------------------------------------------------------------------------


def test_create_update_cancel_and_the_cancelled_window_stays_as_history() -> None:
    state = applied(
        (0, CreateMaintenanceWindow(window=window())),
        (5, UpdateMaintenanceWindow(window=window(end_min=120, reason="longer upgrade"))),
        (30, CancelMaintenanceWindow(id="db-upgrade")),
    )
    kept = state.windows["db-upgrade"]
    assert (kept.reason, kept.end, kept.cancelled_at) == ("longer upgrade", T0 + timedelta(minutes=120),
                                                          T0 + timedelta(minutes=30))  # fmt: skip
    assert state.revision(d.Kind.MAINTENANCE_WINDOW, "db-upgrade") == 3
    assert kept.status_at(T0 + timedelta(minutes=31)) is WindowStatus.CANCELLED


def test_an_ended_or_cancelled_window_takes_no_change_judged_by_the_changes_own_time() -> None:
    state = applied((0, CreateMaintenanceWindow(window=window())))
    ended = refused(state, 61, UpdateMaintenanceWindow(window=window(end_min=200)))
    assert isinstance(ended, InvalidDirectoryChange) and "is ended" in str(ended)
    assert isinstance(refused(state, 60, CancelMaintenanceWindow(id="db-upgrade")), InvalidDirectoryChange)
    cancelled = applied((0, CreateMaintenanceWindow(window=window())), (1, CancelMaintenanceWindow(id="db-upgrade")))
    again = refused(cancelled, 2, CancelMaintenanceWindow(id="db-upgrade"))
    assert isinstance(again, InvalidDirectoryChange) and "is cancelled" in str(again)


def test_a_window_cannot_be_created_or_moved_into_the_past() -> None:
    over = refused(d.DirectoryState(), 61, CreateMaintenanceWindow(window=window()))
    assert isinstance(over, InvalidDirectoryChange) and over.field == "end"
    state = applied((0, CreateMaintenanceWindow(window=window())))
    shortened = refused(state, 20, UpdateMaintenanceWindow(window=window(end_min=10)))
    assert isinstance(shortened, InvalidDirectoryChange) and shortened.field == "end"
    assert "cancel it" in str(shortened)


def test_a_window_id_is_taken_forever_and_unknown_ones_are_not_found() -> None:
    state = applied((0, CreateMaintenanceWindow(window=window(end_min=1))))
    assert isinstance(refused(state, 5, CreateMaintenanceWindow(window=window(start_min=5, end_min=9))), ResourceExists)
    assert isinstance(refused(state, 0, CancelMaintenanceWindow(id="nope")), ResourceNotFound)


def test_commands_never_carry_the_cancellation_time() -> None:
    with pytest.raises(ValidationError, match="cancelled_at"):
        CreateMaintenanceWindow(window=window(cancelled_at=T0))


def test_window_events_decode_through_the_directory_union_and_fold_as_of() -> None:
    state, log = d.DirectoryState(), list[d.AnyDirectoryEvent]()
    steps = ((0, CreateMaintenanceWindow(window=window())), (30, CancelMaintenanceWindow(id="db-upgrade")))
    for minutes, command in steps:
        [event] = d.decide(state, command, meta(minutes))
        state = d.evolve(state, event)
        log.append(event)
    assert [d.decode(event.model_dump_json()) for event in log] == log
    assert [event.type for event in log] == [
        "directory.maintenance_window_created",
        "directory.maintenance_window_cancelled",
    ]
    before = d.fold(log, as_of=T0 + timedelta(minutes=10)).windows["db-upgrade"]
    assert before.cancelled_at is None and d.fold(log).windows["db-upgrade"].cancelled_at is not None


@pytest.mark.parametrize("command", NOISE_COMMANDS)
def test_managers_and_admins_change_windows_and_heartbeats(command: type[d.DirectoryCommand]) -> None:
    assert who_may_ever(command) == {Role.MANAGER, Role.ADMIN}
