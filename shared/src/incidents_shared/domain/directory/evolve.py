"""`evolve(state, event) -> state` for accepted directory events, and `fold` up to an instant. Pure."""

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from incidents_shared.domain.directory import events as e
from incidents_shared.domain.directory import noise
from incidents_shared.domain.directory.state import TABLE_OF, DirectoryState, Entry
from incidents_shared.domain.directory.tokens import Token
from incidents_shared.domain.oncall import Schedule

Change = Callable[[Any, Any], Any]  # (the resource now or None, the event) -> the resource after, or None


def _put(current: object, event: Any) -> object:
    return event.data


def _drop(current: object, event: object) -> None:
    return None


def _put_keeping_overrides(current: Schedule, event: e.ScheduleUpdated) -> Schedule:
    return event.data.model_copy(update={"overrides": current.overrides})


def _add_override(current: Schedule, event: e.OverrideAdded) -> Schedule:
    overrides = sorted([*current.overrides, event.data.override], key=lambda o: o.start)
    return current.model_copy(update={"overrides": overrides})


def _remove_override(current: Schedule, event: e.OverrideRemoved) -> Schedule:
    ref = event.data
    kept = [o for o in current.overrides if (o.user, o.start) != (ref.user, ref.start)]
    return current.model_copy(update={"overrides": kept})


_CHANGES: dict[type[e.DirectoryEventBase], Change] = {
    e.UserCreated: _put,
    e.UserUpdated: _put,
    e.UserDeleted: _drop,
    e.TeamCreated: _put,
    e.TeamUpdated: _put,
    e.TeamDeleted: _drop,
    e.ServiceCreated: _put,
    e.ServiceUpdated: _put,
    e.ServiceDeleted: _drop,
    e.ScheduleCreated: _put,
    e.ScheduleUpdated: _put_keeping_overrides,
    e.ScheduleDeleted: _drop,
    e.OverrideAdded: _add_override,
    e.OverrideRemoved: _remove_override,
    e.TokenIssued: _put,
    e.TokenRevoked: _drop,
    e.MaintenanceWindowCreated: _put,
    e.MaintenanceWindowUpdated: _put,
    e.MaintenanceWindowCancelled: noise.cancel,
    e.HeartbeatRegistered: noise.register,
    e.HeartbeatRemoved: _drop,
}


def _user_tokens_die(state: DirectoryState, event: e.UserDeleted) -> DirectoryState:
    """A deleted user's tokens stop working: each becomes a tombstone, as if revoked."""
    tokens = state.entries_tokens
    dead: dict[str, Entry[Token]] = {
        key: Entry(None, entry.revision + 1) for key, entry in tokens.items() if _owned(entry, event.data.id)
    }
    return replace(state, entries_tokens={**tokens, **dead}) if dead else state


def _owned(entry: Entry[Token], user: str) -> bool:
    return entry.resource is not None and entry.resource.user == user


# What an event changes besides its own resource.
_ALSO: dict[type[e.DirectoryEventBase], Callable[[DirectoryState, Any], DirectoryState]] = {
    e.UserDeleted: _user_tokens_die,
}


def evolve(state: DirectoryState, event: e.AnyDirectoryEvent) -> DirectoryState:
    """Apply one accepted event: the resource it names changes and its revision moves by one (a deleted user's
    tokens die with them)."""
    key, name = e.subject(event), TABLE_OF[event.kind]
    table = state.table(event.kind)
    before = table.get(key)
    after = Entry(
        _CHANGES[type(event)](before.resource if before else None, event), state.revision(event.kind, key) + 1
    )
    changed = replace(state, **{name: {**table, key: after}})
    also = _ALSO.get(type(event))
    return also(changed, event) if also is not None else changed


def fold(events: Iterable[e.AnyDirectoryEvent], as_of: datetime | None = None) -> DirectoryState:
    """The directory after the accepted `events` (in log order), up to the first that occurred after `as_of`.

    The log's order is the truth: the state as of T is the prefix of the log that had happened by T, so a
    later record with an earlier clock reading is not pulled in ahead of the records it came after.
    """
    state = DirectoryState()
    for event in events:
        if as_of is not None and event.occurred_at > as_of:
            break
        state = evolve(state, event)
    return state
