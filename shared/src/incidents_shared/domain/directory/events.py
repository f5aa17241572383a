"""Directory events: one frozen model per change, decoded through one discriminated union on `type`."""

from typing import Annotated, ClassVar, Literal, get_args
from uuid import UUID

from pydantic import Field, TypeAdapter, ValidationError

from incidents_shared.domain.directory.heartbeat import Heartbeat
from incidents_shared.domain.directory.maintenance import MaintenanceWindow
from incidents_shared.domain.directory.model import Id, Kind, Service, Team, User
from incidents_shared.domain.directory.tokens import Token, TokenRef
from incidents_shared.domain.errors import UndecodableEvent
from incidents_shared.domain.events import Actor
from incidents_shared.domain.oncall import Override, Schedule
from incidents_shared.domain.text import StorableModel
from incidents_shared.domain.timeutil import UtcDateTime


class Removed(StorableModel):
    id: Id


class OverrideChange(StorableModel):
    schedule_id: Id
    override: Override


class OverrideRef(StorableModel):
    schedule_id: Id
    user: Id
    start: UtcDateTime


class DirectoryEventBase(StorableModel):
    """The envelope every directory event shares; `kind` says which table of the directory it changes."""

    kind: ClassVar[Kind]
    event_id: UUID
    schema_version: Literal[1] = 1
    occurred_at: UtcDateTime
    actor: Actor
    correlation_id: Annotated[str, Field(min_length=1, max_length=200)]
    causation_id: Annotated[str, Field(max_length=200)] | None = None
    expected_revision: Annotated[int, Field(ge=0)] | None = None
    request_hash: Annotated[str, Field(max_length=128)] | None = None


class UserCreated(DirectoryEventBase):
    kind = Kind.USER
    type: Literal["directory.user_created"] = "directory.user_created"
    data: User


class UserUpdated(DirectoryEventBase):
    kind = Kind.USER
    type: Literal["directory.user_updated"] = "directory.user_updated"
    data: User


class UserDeleted(DirectoryEventBase):
    kind = Kind.USER
    type: Literal["directory.user_deleted"] = "directory.user_deleted"
    data: Removed


class TeamCreated(DirectoryEventBase):
    kind = Kind.TEAM
    type: Literal["directory.team_created"] = "directory.team_created"
    data: Team


class TeamUpdated(DirectoryEventBase):
    kind = Kind.TEAM
    type: Literal["directory.team_updated"] = "directory.team_updated"
    data: Team


class TeamDeleted(DirectoryEventBase):
    kind = Kind.TEAM
    type: Literal["directory.team_deleted"] = "directory.team_deleted"
    data: Removed


class ServiceCreated(DirectoryEventBase):
    kind = Kind.SERVICE
    type: Literal["directory.service_created"] = "directory.service_created"
    data: Service


class ServiceUpdated(DirectoryEventBase):
    kind = Kind.SERVICE
    type: Literal["directory.service_updated"] = "directory.service_updated"
    data: Service


class ServiceDeleted(DirectoryEventBase):
    kind = Kind.SERVICE
    type: Literal["directory.service_deleted"] = "directory.service_deleted"
    data: Removed


class ScheduleCreated(DirectoryEventBase):
    kind = Kind.SCHEDULE
    type: Literal["directory.schedule_created"] = "directory.schedule_created"
    data: Schedule


class ScheduleUpdated(DirectoryEventBase):
    kind = Kind.SCHEDULE
    type: Literal["directory.schedule_updated"] = "directory.schedule_updated"
    data: Schedule


class ScheduleDeleted(DirectoryEventBase):
    kind = Kind.SCHEDULE
    type: Literal["directory.schedule_deleted"] = "directory.schedule_deleted"
    data: Removed


class OverrideAdded(DirectoryEventBase):
    kind = Kind.SCHEDULE
    type: Literal["directory.override_added"] = "directory.override_added"
    data: OverrideChange


class OverrideRemoved(DirectoryEventBase):
    kind = Kind.SCHEDULE
    type: Literal["directory.override_removed"] = "directory.override_removed"
    data: OverrideRef


class TokenIssued(DirectoryEventBase):
    kind = Kind.TOKEN
    type: Literal["directory.token_issued"] = "directory.token_issued"
    data: Token


class TokenRevoked(DirectoryEventBase):
    kind = Kind.TOKEN
    type: Literal["directory.token_revoked"] = "directory.token_revoked"
    data: TokenRef


class MaintenanceWindowCreated(DirectoryEventBase):
    kind = Kind.MAINTENANCE_WINDOW
    type: Literal["directory.maintenance_window_created"] = "directory.maintenance_window_created"
    data: MaintenanceWindow


class MaintenanceWindowUpdated(DirectoryEventBase):
    kind = Kind.MAINTENANCE_WINDOW
    type: Literal["directory.maintenance_window_updated"] = "directory.maintenance_window_updated"
    data: MaintenanceWindow


class MaintenanceWindowCancelled(DirectoryEventBase):
    kind = Kind.MAINTENANCE_WINDOW
    type: Literal["directory.maintenance_window_cancelled"] = "directory.maintenance_window_cancelled"
    data: Removed


class HeartbeatRegistered(DirectoryEventBase):
    kind = Kind.HEARTBEAT
    type: Literal["directory.heartbeat_registered"] = "directory.heartbeat_registered"
    data: Heartbeat


class HeartbeatRemoved(DirectoryEventBase):
    kind = Kind.HEARTBEAT
    type: Literal["directory.heartbeat_removed"] = "directory.heartbeat_removed"
    data: Removed


AnyDirectoryEvent = (
    UserCreated
    | UserUpdated
    | UserDeleted
    | TeamCreated
    | TeamUpdated
    | TeamDeleted
    | ServiceCreated
    | ServiceUpdated
    | ServiceDeleted
    | ScheduleCreated
    | ScheduleUpdated
    | ScheduleDeleted
    | OverrideAdded
    | OverrideRemoved
    | TokenIssued
    | TokenRevoked
    | MaintenanceWindowCreated
    | MaintenanceWindowUpdated
    | MaintenanceWindowCancelled
    | HeartbeatRegistered
    | HeartbeatRemoved
)
DirectoryEvent = Annotated[AnyDirectoryEvent, Field(discriminator="type")]
DIRECTORY_EVENT_CLASSES: tuple[type[DirectoryEventBase], ...] = get_args(AnyDirectoryEvent)
_ADAPTER: TypeAdapter[AnyDirectoryEvent] = TypeAdapter(DirectoryEvent)


def subject(event: AnyDirectoryEvent) -> str:
    """The id of the resource an event changes (the schedule, for an override)."""
    data = event.data
    return data.schedule_id if isinstance(data, OverrideChange | OverrideRef) else data.id


def decode(raw: bytes | str) -> AnyDirectoryEvent:
    """A directory event from its JSON, or UndecodableEvent (a poison message)."""
    try:
        return _ADAPTER.validate_json(raw)
    except ValidationError as exc:
        raise UndecodableEvent(f"not a directory event: {exc.error_count()} problem(s)") from exc
