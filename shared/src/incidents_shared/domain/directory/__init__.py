"""The directory: users, teams, services and schedules, each change an event (docs/decisions/0068).

- Resources (`model`): `User` (ordered contact methods, each with a delay), `Team` (members, schedule, policy),
  `Service` (owner team, tier, runbook); schedules are `oncall.Schedule`, their overrides added and removed by
  commands of their own. Ids are slugs.
- `decide(state, command, meta)` returns the one event a command means or raises a `DirectoryError` naming the
  field or the resources (`rules.RULES` is the one table of what is allowed where); `evolve` applies an accepted
  event; `fold(events, as_of)` rebuilds the directory at any instant, so who was on call and who changed the rota
  can be reconstructed.
- `owner_team` routes an incident's service to its team (an unknown service to the default team);
  `oncall_for_team` asks the team's schedule who is on call.
- Personal API tokens (`tokens`): `IssueToken` / `RevokeToken`, only the hash kept, a role within the user's;
  `token_holder(state, hash)` is the token that works now. `permissions.PERMISSIONS` says who may change what.
Pure: no I/O, no clock; time is passed in.
"""

from incidents_shared.domain.directory.commands import (
    AddOverride,
    CreateSchedule,
    CreateService,
    CreateTeam,
    CreateUser,
    DeleteSchedule,
    DeleteService,
    DeleteTeam,
    DeleteUser,
    DirectoryCommand,
    DirectoryMeta,
    IssueToken,
    RemoveOverride,
    RevokeToken,
    UpdateSchedule,
    UpdateService,
    UpdateTeam,
    UpdateUser,
)
from incidents_shared.domain.directory.decide import decide
from incidents_shared.domain.directory.events import DIRECTORY_EVENT_CLASSES, AnyDirectoryEvent, DirectoryEvent, decode
from incidents_shared.domain.directory.evolve import evolve, fold
from incidents_shared.domain.directory.model import ContactMethod, Kind, Service, Team, User
from incidents_shared.domain.directory.queries import oncall_for_team, owner_team, token_holder
from incidents_shared.domain.directory.state import DirectoryState, Entry
from incidents_shared.domain.directory.tokens import Token
from incidents_shared.domain.enums import ContactKind

__all__ = [
    "DIRECTORY_EVENT_CLASSES",
    "AddOverride",
    "AnyDirectoryEvent",
    "ContactKind",
    "ContactMethod",
    "CreateSchedule",
    "CreateService",
    "CreateTeam",
    "CreateUser",
    "DeleteSchedule",
    "DeleteService",
    "DeleteTeam",
    "DeleteUser",
    "DirectoryCommand",
    "DirectoryEvent",
    "DirectoryMeta",
    "DirectoryState",
    "Entry",
    "IssueToken",
    "Kind",
    "RemoveOverride",
    "RevokeToken",
    "Service",
    "Team",
    "Token",
    "UpdateSchedule",
    "UpdateService",
    "UpdateTeam",
    "UpdateUser",
    "User",
    "decide",
    "decode",
    "evolve",
    "fold",
    "oncall_for_team",
    "owner_team",
    "token_holder",
]
