"""`decide(state, command, meta) -> events`: what a directory command means, judged on the directory now. Pure."""

from collections.abc import Callable
from typing import Any
from uuid import uuid5

from incidents_shared.domain.directory import commands as c
from incidents_shared.domain.directory import events as e
from incidents_shared.domain.directory import noise
from incidents_shared.domain.directory.rules import violation
from incidents_shared.domain.directory.state import DirectoryState
from incidents_shared.domain.directory.tokens import Token, TokenRef

Draft = tuple[type[e.AnyDirectoryEvent], Callable[[Any], object]]

# Each command becomes one event; its payload is the command's body, or a reference to the resource.
_DRAFTS: dict[type[c.DirectoryCommand], Draft] = {
    c.CreateUser: (e.UserCreated, lambda cmd: cmd.user),
    c.UpdateUser: (e.UserUpdated, lambda cmd: cmd.user),
    c.DeleteUser: (e.UserDeleted, lambda cmd: e.Removed(id=cmd.id)),
    c.CreateTeam: (e.TeamCreated, lambda cmd: cmd.team),
    c.UpdateTeam: (e.TeamUpdated, lambda cmd: cmd.team),
    c.DeleteTeam: (e.TeamDeleted, lambda cmd: e.Removed(id=cmd.id)),
    c.CreateService: (e.ServiceCreated, lambda cmd: cmd.service),
    c.UpdateService: (e.ServiceUpdated, lambda cmd: cmd.service),
    c.DeleteService: (e.ServiceDeleted, lambda cmd: e.Removed(id=cmd.id)),
    c.CreateSchedule: (e.ScheduleCreated, lambda cmd: cmd.schedule),
    c.UpdateSchedule: (e.ScheduleUpdated, lambda cmd: cmd.schedule),
    c.DeleteSchedule: (e.ScheduleDeleted, lambda cmd: e.Removed(id=cmd.id)),
    c.AddOverride: (e.OverrideAdded, lambda cmd: e.OverrideChange(schedule_id=cmd.schedule_id, override=cmd.override)),
    c.RemoveOverride: (
        e.OverrideRemoved,
        lambda cmd: e.OverrideRef(schedule_id=cmd.schedule_id, user=cmd.user, start=cmd.start),
    ),
    c.IssueToken: (
        e.TokenIssued,
        lambda cmd: Token(id=cmd.token_id, user=cmd.user, token_hash=cmd.token_hash, role=cmd.role, label=cmd.label),
    ),
    c.RevokeToken: (e.TokenRevoked, lambda cmd: TokenRef(id=cmd.token_id, user=cmd.user)),
    noise.CreateMaintenanceWindow: (e.MaintenanceWindowCreated, lambda cmd: cmd.window),
    noise.UpdateMaintenanceWindow: (e.MaintenanceWindowUpdated, lambda cmd: cmd.window),
    noise.CancelMaintenanceWindow: (e.MaintenanceWindowCancelled, lambda cmd: e.Removed(id=cmd.id)),
    noise.RegisterHeartbeat: (e.HeartbeatRegistered, lambda cmd: cmd.heartbeat),
    noise.RemoveHeartbeat: (e.HeartbeatRemoved, lambda cmd: e.Removed(id=cmd.name)),
}


def decide(state: DirectoryState, command: c.DirectoryCommand, meta: c.DirectoryMeta) -> list[e.AnyDirectoryEvent]:
    """The event a command produces, or the DirectoryError (naming the field or resources) saying why not.

    The event id is uuid5 of the command id, as for incidents: a retried command yields the same event.
    """
    cls, payload = _DRAFTS[type(command)]
    fields: dict[str, Any] = {
        "event_id": uuid5(meta.command_id, "0"),
        "occurred_at": meta.now,
        "actor": meta.actor,
        "correlation_id": meta.correlation_id,
        "causation_id": meta.causation_id,
        "expected_revision": meta.expected_revision,
        "request_hash": meta.request_hash,
        "data": payload(command),
    }
    event = cls(**fields)
    if (error := violation(state, event)) is not None:
        raise error
    return [event]
