"""The directory's noise-control kinds: maintenance windows and heartbeats (docs/decisions/0076).

Their commands, the guards `rules.RULES` runs for their events, and how `evolve` applies them. The guards judge
time by the event's own `occurred_at`, so every reader of the log reaches the same verdict at fold time: an
ended or cancelled window is history and takes no change, a window cannot be made to end in the past.
"""

from pydantic import field_validator

from incidents_shared.domain.directory import events as e
from incidents_shared.domain.directory.commands import DirectoryCommand
from incidents_shared.domain.directory.errors import DirectoryError, InvalidDirectoryChange
from incidents_shared.domain.directory.heartbeat import Heartbeat
from incidents_shared.domain.directory.maintenance import MaintenanceWindow, WindowStatus
from incidents_shared.domain.directory.model import Id
from incidents_shared.domain.directory.state import DirectoryState

# --- commands -----------------------------------------------------------------------------------------------


def _not_cancelled(window: MaintenanceWindow) -> MaintenanceWindow:
    if window.cancelled_at is not None:
        raise ValueError("cancelled_at: set by cancelling the window (DELETE), never by a create or an update")
    return window


class CreateMaintenanceWindow(DirectoryCommand):
    window: MaintenanceWindow

    _check = field_validator("window")(_not_cancelled)


class UpdateMaintenanceWindow(DirectoryCommand):
    """Replace a scheduled or active window's services, matchers, start, end and reason."""

    window: MaintenanceWindow

    _check = field_validator("window")(_not_cancelled)


class CancelMaintenanceWindow(DirectoryCommand):
    """End a window now: it stays in the directory as history, with the time it was cancelled."""

    id: Id


class RegisterHeartbeat(DirectoryCommand):
    """Register a heartbeat, or replace one (it keeps its first registration time)."""

    heartbeat: Heartbeat

    @field_validator("heartbeat")
    @classmethod
    def _no_registration_time(cls, value: Heartbeat) -> Heartbeat:
        if value.registered_at is not None:
            raise ValueError("registered_at: set by the directory when the heartbeat is first registered")
        return value


class RemoveHeartbeat(DirectoryCommand):
    name: Id


NOISE_COMMANDS: tuple[type[DirectoryCommand], ...] = (
    CreateMaintenanceWindow,
    UpdateMaintenanceWindow,
    CancelMaintenanceWindow,
    RegisterHeartbeat,
    RemoveHeartbeat,
)

# --- guards (rules.RULES) -------------------------------------------------------------------------------------

_HISTORY = frozenset({WindowStatus.ENDED, WindowStatus.CANCELLED})


def window_ahead(state: DirectoryState, event: e.MaintenanceWindowCreated) -> DirectoryError | None:
    if event.data.end <= event.occurred_at:
        return InvalidDirectoryChange(("end",), "has passed already: a window that is over would hold nothing")
    return None


def window_changes(state: DirectoryState, event: e.MaintenanceWindowUpdated) -> DirectoryError | None:
    if (closed := window_open(state, event)) is not None:
        return closed
    if event.data.end <= event.occurred_at:
        return InvalidDirectoryChange(("end",), "has passed already: to end a window now, cancel it (DELETE)")
    return None


def window_open(
    state: DirectoryState, event: e.MaintenanceWindowUpdated | e.MaintenanceWindowCancelled
) -> DirectoryError | None:
    current = state.windows[event.data.id]
    status = current.status_at(event.occurred_at)
    if status in _HISTORY:
        since = current.closes_at.isoformat()
        return InvalidDirectoryChange((), f"maintenance window {current.id!r} is {status} (since {since}): history")
    return None


# --- evolve -------------------------------------------------------------------------------------------------


def cancel(current: MaintenanceWindow, event: e.MaintenanceWindowCancelled) -> MaintenanceWindow:
    return current.model_copy(update={"cancelled_at": event.occurred_at})


def register(current: Heartbeat | None, event: e.HeartbeatRegistered) -> Heartbeat:
    """The heartbeat as registered, keeping the time it was first registered (a never-pinged one's clock)."""
    first = current.registered_at if current is not None else event.occurred_at
    return event.data.model_copy(update={"registered_at": first})
