"""What the use cases answer: typed values, no HTTP. `http_answers` maps each to a status, headers and a body."""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from incidents_shared.domain.errors import DomainError

# --- a command ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Accepted:
    """The log accepted the command; the incident as the projector stored it (JSON text, sent as it is)."""

    incident_id: UUID
    state_json: str
    revision: int
    created: bool  # the command opened the incident


@dataclass(frozen=True)
class Rejected:
    """The log rejected the command's event at its place in the log (another writer got there first)."""

    event_id: UUID
    conflict: bool  # the If-Match revision no longer held; otherwise not allowed in the state at that point
    reason: str | None
    revision: int  # the incident's revision when the event was judged


@dataclass(frozen=True)
class Pending:
    """Appended; the verdict did not come within the wait (or the client asked not to wait)."""

    event_id: UUID  # the command's last event: its verdict is the command's


@dataclass(frozen=True)
class Refused:
    """The domain refused the command on the state the read model holds; nothing was appended."""

    error: DomainError
    revision: int | None  # the incident's current revision, None when it does not exist


@dataclass(frozen=True)
class KeyReused:
    """The Idempotency-Key was already used for another request by the same principal."""


@dataclass(frozen=True)
class RecordedAnswer:
    """An answer as it was first given for an Idempotency-Key; opaque to the use case but for `final`."""

    status: int
    document: Any
    etag: str | None
    final: bool  # a definite answer (not "pending"): every retry gets it as it is


@dataclass(frozen=True)
class Replayed:
    """A retry of a request already answered: the recorded answer, again."""

    answer: RecordedAnswer


CommandOutcome = Accepted | Rejected | Pending | Refused | KeyReused | Replayed


# --- alerts -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertResult:
    """What became of one alert of a request."""

    outcome: str  # opened|correlated|resolved|reopened|noted|ignored|invalid|rejected|pending
    dedup_key: str | None = None
    incident_id: UUID | None = None
    status: str | None = None
    detail: str | None = None
    event_id: UUID | None = None
    errors: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class AlertsHandled:
    """One result per alert, in the order sent."""

    results: list[AlertResult]


@dataclass(frozen=True)
class TooManyAlerts:
    """The batch is larger than the mapping allows; nothing was handled."""

    limit: int


AlertsOutcome = AlertsHandled | TooManyAlerts


# --- releasing a parked incident ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Released:
    key: str
    judged: int | None
    accepted: int | None


@dataclass(frozen=True)
class NotParked:
    detail: str | None


@dataclass(frozen=True)
class StillPoison:
    """The poison record still cannot be judged; the incident stays parked."""

    detail: str | None


@dataclass(frozen=True)
class ReleasePending:
    """The projector has not carried the request out within the wait."""

    key: str
    request_id: int


ReleaseOutcome = Released | NotParked | StillPoison | ReleasePending
