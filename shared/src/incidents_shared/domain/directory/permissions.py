"""Who may change what in the directory: one table, like `domain/authorization.py`, self-service rules beside it.

Any reader role may read the directory. Teams, services, schedules and overrides are managers' (and admins');
a responder may add an override in which they are the covering user, in a schedule they take part in (a user of
one of its layers or a member of a team it serves), and remove one in which they are the covering user. Users are
admins': an admin creates, deletes and updates anyone, a user may update themselves but not their role. Personal
tokens: the user themselves (no wider than the token they call with) or an admin; the rules check the token's role
against the user's, for everyone.

"Themselves" means the caller's principal id is the user's id, which is what a personal token authenticates as.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from incidents_shared.domain.authorization import MANAGERS, READERS, RESPONDERS
from incidents_shared.domain.directory import commands as c
from incidents_shared.domain.directory.noise import NOISE_COMMANDS
from incidents_shared.domain.directory.state import DirectoryState
from incidents_shared.domain.directory.tokens import role_within
from incidents_shared.domain.enums import Role
from incidents_shared.domain.errors import Forbidden

ADMINS = frozenset({Role.ADMIN})
ANYONE = frozenset(Role)
DIRECTORY_READERS = READERS

AboutSelf = Callable[[DirectoryState, str, Role, Any], bool]  # (directory, caller, role, command) -> own, allowed


@dataclass(frozen=True)
class Permission:
    """`roles` may issue the command for anyone; `own_roles` only when `about_self` says it is the caller's own.

    `pin_self`: a self-service change is pinned to the revision it was decided on, so a change of the resource in
    between (an admin lowering the user's role) makes it a conflict instead of being undone by it.
    """

    roles: frozenset[Role]
    own_roles: frozenset[Role] = frozenset()
    about_self: AboutSelf | None = None
    pin_self: bool = False
    own_text: str = "the caller's own, as the self-service rule allows"  # what Forbidden says the rule allows


class Grant(Enum):
    ROLE = "role"  # the caller's role may do this for anyone
    SELF = "self"  # allowed because it is the caller's own


def _own_profile_same_role(state: DirectoryState, caller: str, role: Role, command: c.UpdateUser) -> bool:
    current = state.users.get(caller)
    return command.user.id == caller and current is not None and current.role == command.user.role


def in_schedule(state: DirectoryState, schedule_id: str, user: str) -> bool:
    """Whether `user` takes part in the schedule: a user of one of its layers, or a member of a team it serves."""
    schedule = state.schedules.get(schedule_id)
    if schedule is None:
        return False
    if any(user in layer.users for layer in schedule.layers):
        return True
    return any(team.schedule == schedule_id and user in team.members for team in state.teams.values())


def _takes_own_shift(state: DirectoryState, caller: str, schedule_id: str, user: str) -> bool:
    """A responder's override: for themselves, in a schedule they take part in (docs/decisions/0085)."""
    return user == caller and in_schedule(state, schedule_id, caller)


def _covers_new(state: DirectoryState, caller: str, role: Role, command: c.AddOverride) -> bool:
    return _takes_own_shift(state, caller, command.schedule_id, command.override.user)


def _covers_removed(state: DirectoryState, caller: str, role: Role, command: c.RemoveOverride) -> bool:
    return command.user == caller


def _own_new_token(state: DirectoryState, caller: str, role: Role, command: c.IssueToken) -> bool:
    """Their own, and no wider than the token they call with: a narrow token cannot mint a broader one."""
    return command.user == caller and role_within(command.role, role)


def _own_token(state: DirectoryState, caller: str, role: Role, command: c.RevokeToken) -> bool:
    return command.user == caller


_MANAGED = Permission(MANAGERS)

PERMISSIONS: dict[type[c.DirectoryCommand], Permission] = {
    c.CreateUser: Permission(ADMINS),
    c.UpdateUser: Permission(ADMINS, ANYONE, _own_profile_same_role, pin_self=True),
    c.DeleteUser: Permission(ADMINS),
    c.CreateTeam: _MANAGED,
    c.UpdateTeam: _MANAGED,
    c.DeleteTeam: _MANAGED,
    c.CreateService: _MANAGED,
    c.UpdateService: _MANAGED,
    c.DeleteService: _MANAGED,
    c.CreateSchedule: _MANAGED,
    c.UpdateSchedule: _MANAGED,
    c.DeleteSchedule: _MANAGED,
    c.AddOverride: Permission(
        MANAGERS, RESPONDERS, _covers_new, own_text="a responder for themselves, in a schedule they take part in"
    ),
    c.RemoveOverride: Permission(MANAGERS, RESPONDERS, _covers_removed),
    c.IssueToken: Permission(ADMINS, ANYONE, _own_new_token),
    c.RevokeToken: Permission(ADMINS, ANYONE, _own_token),
    **dict.fromkeys(NOISE_COMMANDS, _MANAGED),  # maintenance windows and heartbeats (docs/decisions/0076)
}


def authorize(state: DirectoryState, command: c.DirectoryCommand, caller: str, role: Role) -> Grant:
    """Why `caller` (with `role`) may issue `command`, or Forbidden saying who may."""
    permission = PERMISSIONS[type(command)]
    own = permission.about_self
    grant = _grant(permission, role, lambda: own is not None and own(state, caller, role, command))
    if grant is None:
        raise Forbidden(_who_may(type(command).__name__, permission, role))
    return grant


def _grant(permission: Permission, role: Role, own: Callable[[], bool]) -> Grant | None:
    if role in permission.roles:
        return Grant.ROLE
    if role in permission.own_roles and own():
        return Grant.SELF
    return None


def may_add_override(state: DirectoryState, schedule_id: str, user: str, caller: str, role: Role) -> bool:
    """Whether `authorize` lets `caller` add an override putting `user` on call in `schedule_id` (whatever its
    times): managers and admins for anyone, a responder for themselves in a schedule they take part in. The
    console offers "Take this shift" by it; the change itself is still authorized by `authorize`."""

    def own() -> bool:  # what `_covers_new` asks of a command
        return _takes_own_shift(state, caller, schedule_id, user)

    return _grant(PERMISSIONS[c.AddOverride], role, own) is not None


def who_may_ever(command: type[c.DirectoryCommand]) -> frozenset[Role]:
    """Every role that may issue the command for someone: the API refuses the other roles before reading a body."""
    permission = PERMISSIONS[command]
    return permission.roles | permission.own_roles


def pinned(command: c.DirectoryCommand, grant: Grant) -> bool:
    """Whether the change must carry the revision it was decided on (see `Permission.pin_self`)."""
    return grant is Grant.SELF and PERMISSIONS[type(command)].pin_self


def default_token_role(user_role: Role | None, caller_role: Role) -> Role:
    """The role of a token asked for without one: its user's, unless the caller may only grant a narrower one
    (their own token's); the caller's for an unknown user (the rules then refuse the user)."""
    if user_role is not None and (caller_role in ADMINS or role_within(user_role, caller_role)):
        return user_role
    return caller_role


def may_see_tokens(caller: str, role: Role, user: str) -> bool:
    """A user's tokens (ids, roles, labels) are shown to the user and to admins."""
    return role in ADMINS or caller == user


def _who_may(command: str, permission: Permission, role: Role) -> str:
    roles = ", ".join(sorted(permission.roles))
    own = f" (or {permission.own_text})" if permission.about_self else ""
    return f"role {role.value} may not {command}; allowed: {roles}{own}"
