"""The directory as the fold of its accepted events: users, teams, services and schedules by id, with revisions."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Generic, TypeVar

from incidents_shared.domain.directory.heartbeat import Heartbeat
from incidents_shared.domain.directory.maintenance import MaintenanceWindow
from incidents_shared.domain.directory.model import Kind, Service, Team, User
from incidents_shared.domain.directory.tokens import Token
from incidents_shared.domain.oncall import Schedule

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Entry(Generic[R]):
    """A resource at its revision; `resource` None once deleted.

    The revision goes on across a delete, so an If-Match from before never matches an id created again.
    """

    resource: R | None
    revision: int


def _live(table: Mapping[str, Entry[R]]) -> dict[str, R]:
    return {key: entry.resource for key, entry in table.items() if entry.resource is not None}


TABLE_OF: dict[Kind, str] = {
    Kind.USER: "entries_users",
    Kind.TEAM: "entries_teams",
    Kind.SERVICE: "entries_services",
    Kind.SCHEDULE: "entries_schedules",
    Kind.TOKEN: "entries_tokens",
    Kind.MAINTENANCE_WINDOW: "entries_windows",
    Kind.HEARTBEAT: "entries_heartbeats",
}


@dataclass(frozen=True)
class DirectoryState:
    """Never changed in place: `evolve` makes a new one. The `users`, ... views hold the live resources."""

    entries_users: Mapping[str, Entry[User]] = field(default_factory=dict)
    entries_teams: Mapping[str, Entry[Team]] = field(default_factory=dict)
    entries_services: Mapping[str, Entry[Service]] = field(default_factory=dict)
    entries_schedules: Mapping[str, Entry[Schedule]] = field(default_factory=dict)
    entries_tokens: Mapping[str, Entry[Token]] = field(default_factory=dict)
    entries_windows: Mapping[str, Entry[MaintenanceWindow]] = field(default_factory=dict)
    entries_heartbeats: Mapping[str, Entry[Heartbeat]] = field(default_factory=dict)

    def table(self, kind: Kind) -> Mapping[str, Entry[Any]]:
        table: Mapping[str, Entry[Any]] = getattr(self, TABLE_OF[kind])
        return table

    def revision(self, kind: Kind, resource_id: str) -> int:
        """The resource's revision (what ETag and If-Match carry); 0 for an id never created."""
        entry = self.table(kind).get(resource_id)
        return entry.revision if entry is not None else 0

    def exists(self, kind: Kind, resource_id: str) -> bool:
        entry = self.table(kind).get(resource_id)
        return entry is not None and entry.resource is not None

    @cached_property
    def users(self) -> dict[str, User]:
        return _live(self.entries_users)

    @cached_property
    def teams(self) -> dict[str, Team]:
        return _live(self.entries_teams)

    @cached_property
    def services(self) -> dict[str, Service]:
        return _live(self.entries_services)

    @cached_property
    def schedules(self) -> dict[str, Schedule]:
        return _live(self.entries_schedules)

    @cached_property
    def tokens(self) -> dict[str, Token]:
        """Personal tokens that have not been revoked (nor died with their user), by token id."""
        return _live(self.entries_tokens)

    @cached_property
    def windows(self) -> dict[str, MaintenanceWindow]:
        """Maintenance windows, the ended and cancelled ones too (they stay as history)."""
        return _live(self.entries_windows)

    @cached_property
    def heartbeats(self) -> dict[str, Heartbeat]:
        return _live(self.entries_heartbeats)

    @cached_property
    def tokens_by_hash(self) -> dict[str, Token]:
        return {token.token_hash: token for token in self.tokens.values()}

    @cached_property
    def users_by_slack(self) -> dict[str, User]:
        """Users linked to a Slack member id (`User.slack_user_id`, unique), by that id."""
        return {user.slack_user_id: user for user in self.users.values() if user.slack_user_id is not None}
