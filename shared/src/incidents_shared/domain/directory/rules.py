"""The one table that says which directory change is allowed where, with the guards beside it.

`decide` consults it before anything is appended: whether the resource must be absent (a create) or present
(everything else), the client's If-Match, and the referential guard of the change. A guard returns the typed
error that names the field or the resources, or None.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from incidents_shared.domain.directory import events as e
from incidents_shared.domain.directory import noise
from incidents_shared.domain.directory.errors import (
    DirectoryError,
    InvalidDirectoryChange,
    InvalidOverride,
    ResourceExists,
    ResourceNotFound,
    RevisionConflict,
    StillReferenced,
    UnknownReference,
)
from incidents_shared.domain.directory.model import Kind
from incidents_shared.domain.directory.state import DirectoryState
from incidents_shared.domain.directory.tokens import role_within
from incidents_shared.domain.oncall import Schedule

Guard = Callable[[DirectoryState, Any], DirectoryError | None]


class Presence(Enum):
    ABSENT = "absent"  # a create: the id must not exist
    PRESENT = "present"  # an update, a delete, an override: the id must exist
    EITHER = "either"  # a register-or-replace (a heartbeat)


@dataclass(frozen=True)
class Rule:
    presence: Presence
    guard: Guard | None = None


def schedule_users(schedule: Schedule) -> set[str]:
    """Every user a schedule names, in its layers or its overrides."""
    return {user for layer in schedule.layers for user in layer.users} | {o.user for o in schedule.overrides}


def _referrers(found: dict[str, list[str]]) -> dict[str, list[str]]:
    return {where: sorted(ids) for where, ids in found.items() if ids}


def _slack_user_unique(state: DirectoryState, event: e.UserCreated | e.UserUpdated) -> DirectoryError | None:
    """A Slack member id names one directory user: Slack's commands and buttons act as that user."""
    slack = event.data.slack_user_id
    holder = state.users_by_slack.get(slack) if slack is not None else None
    if holder is not None and holder.id != event.data.id:
        return InvalidDirectoryChange(("slack_user_id",), f"{slack} is linked to user {holder.id!r} already")
    return None


def _team_references(state: DirectoryState, event: e.TeamCreated | e.TeamUpdated) -> DirectoryError | None:
    team = event.data
    for index, member in enumerate(team.members):
        if member not in state.users:
            return UnknownReference(("members", index), Kind.USER, member)
    if team.schedule is not None and team.schedule not in state.schedules:
        return UnknownReference(("schedule",), Kind.SCHEDULE, team.schedule)
    return None


def _service_references(state: DirectoryState, event: e.ServiceCreated | e.ServiceUpdated) -> DirectoryError | None:
    if (owner := event.data.owner_team) not in state.teams:
        return UnknownReference(("owner_team",), Kind.TEAM, owner)
    return None


def _schedule_references(state: DirectoryState, event: e.ScheduleCreated | e.ScheduleUpdated) -> DirectoryError | None:
    if event.data.overrides:
        return InvalidDirectoryChange(("overrides",), "add overrides with their own command (AddOverride)")
    for index, layer in enumerate(event.data.layers):
        for position, user in enumerate(layer.users):
            if user not in state.users:
                return UnknownReference(("layers", index, "users", position), Kind.USER, user)
    return None


def _user_unused(state: DirectoryState, event: e.UserDeleted) -> DirectoryError | None:
    user = event.data.id
    teams = [team.id for team in state.teams.values() if user in team.members]
    schedules = [schedule.id for schedule in state.schedules.values() if user in schedule_users(schedule)]
    if by := _referrers({"teams": teams, "schedules": schedules}):
        return StillReferenced(Kind.USER, user, by)
    return None


def _team_unused(state: DirectoryState, event: e.TeamDeleted) -> DirectoryError | None:
    services = [service.id for service in state.services.values() if service.owner_team == event.data.id]
    if by := _referrers({"services": services}):
        return StillReferenced(Kind.TEAM, event.data.id, by)
    return None


def _schedule_unused(state: DirectoryState, event: e.ScheduleDeleted) -> DirectoryError | None:
    teams = [team.id for team in state.teams.values() if team.schedule == event.data.id]
    if by := _referrers({"teams": teams}):
        return StillReferenced(Kind.SCHEDULE, event.data.id, by)
    return None


def _override_fits(state: DirectoryState, event: e.OverrideAdded) -> DirectoryError | None:
    new = event.data.override
    if new.end <= new.start:
        return InvalidOverride(("end",), "must be after start (an override covers [start, end))")
    if new.user not in state.users:
        return UnknownReference(("user",), Kind.USER, new.user)
    for other in state.schedules[event.data.schedule_id].overrides:
        if new.start < other.end and other.start < new.end:
            span = f"{other.start.isoformat()} to {other.end.isoformat()}"
            return InvalidOverride(("start",), f"overlaps the override of {other.user!r} from {span}")
    return None


def _override_exists(state: DirectoryState, event: e.OverrideRemoved) -> DirectoryError | None:
    ref = event.data
    if any((o.user, o.start) == (ref.user, ref.start) for o in state.schedules[ref.schedule_id].overrides):
        return None
    return ResourceNotFound("override", f"{ref.user}@{ref.start.isoformat()}", ("start",))


def _token_fits(state: DirectoryState, event: e.TokenIssued) -> DirectoryError | None:
    token = event.data
    owner = state.users.get(token.user)
    if owner is None:
        return UnknownReference(("user",), Kind.USER, token.user)
    if not role_within(token.role, owner.role):
        return InvalidDirectoryChange(("role",), f"{token.role} exceeds the role of {owner.id!r} ({owner.role})")
    if token.token_hash in state.tokens_by_hash:
        return InvalidDirectoryChange(("token_hash",), "already in use by another token")
    return None


def _token_of_user(state: DirectoryState, event: e.TokenRevoked) -> DirectoryError | None:
    if state.tokens[event.data.id].user != event.data.user:
        return ResourceNotFound(Kind.TOKEN, event.data.id)
    return None


_CREATE, _CHANGE = Presence.ABSENT, Presence.PRESENT

RULES: dict[type[e.DirectoryEventBase], Rule] = {
    e.UserCreated: Rule(_CREATE, _slack_user_unique),
    e.UserUpdated: Rule(_CHANGE, _slack_user_unique),
    e.UserDeleted: Rule(_CHANGE, _user_unused),
    e.TeamCreated: Rule(_CREATE, _team_references),
    e.TeamUpdated: Rule(_CHANGE, _team_references),
    e.TeamDeleted: Rule(_CHANGE, _team_unused),
    e.ServiceCreated: Rule(_CREATE, _service_references),
    e.ServiceUpdated: Rule(_CHANGE, _service_references),
    e.ServiceDeleted: Rule(_CHANGE),
    e.ScheduleCreated: Rule(_CREATE, _schedule_references),
    e.ScheduleUpdated: Rule(_CHANGE, _schedule_references),
    e.ScheduleDeleted: Rule(_CHANGE, _schedule_unused),
    e.OverrideAdded: Rule(_CHANGE, _override_fits),
    e.OverrideRemoved: Rule(_CHANGE, _override_exists),
    e.TokenIssued: Rule(_CREATE, _token_fits),
    e.TokenRevoked: Rule(_CHANGE, _token_of_user),
    e.MaintenanceWindowCreated: Rule(_CREATE, noise.window_ahead),
    e.MaintenanceWindowUpdated: Rule(_CHANGE, noise.window_changes),
    e.MaintenanceWindowCancelled: Rule(_CHANGE, noise.window_open),
    e.HeartbeatRegistered: Rule(Presence.EITHER),
    e.HeartbeatRemoved: Rule(_CHANGE),
}


def violation(state: DirectoryState, event: e.AnyDirectoryEvent) -> DirectoryError | None:
    """Why `event` may not be applied to `state` (the typed error to raise), or None when it may."""
    rule, kind, key = RULES[type(event)], event.kind, e.subject(event)
    exists = state.exists(kind, key)
    if rule.presence is Presence.ABSENT and exists:
        return ResourceExists(kind, key)
    if rule.presence is Presence.PRESENT and not exists:
        return ResourceNotFound(kind, key)
    current = state.revision(kind, key)
    if event.expected_revision is not None and event.expected_revision != current:
        return RevisionConflict(kind, key, event.expected_revision, current)
    return rule.guard(state, event) if rule.guard is not None else None
