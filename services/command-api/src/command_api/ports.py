"""The ports of the command API's use cases: what they need from the world, as protocols.

The composition root (app.py) wires the real adapters (Kafka, PostgreSQL); the unit tests wire in-memory fakes
(tests/unit/fakes.py). Nothing here imports an I/O library.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

from command_api.outcomes import Accepted, Pending, RecordedAnswer
from command_api.records import ReleaseRow, VerdictRow
from incidents_shared.domain.events import EventBase
from incidents_shared.domain.state import Incident

AfterAppend = Callable[[list[EventBase]], None]
"""Called right after the log acknowledged an append (the fault suite's crash hook)."""


class LogAppender(Protocol):
    """The incident log."""

    async def append(self, events: list[EventBase]) -> None:
        """Append in order, acknowledged by the log; raises `LogUnavailable` when it cannot."""


class IncidentReader(Protocol):
    """The projector's read model, as far as the use cases read it."""

    async def incident(self, incident_id: UUID) -> Incident | None:
        """The incident's current state, None when it does not exist."""

    async def verdict(self, event_id: UUID) -> VerdictRow | None:
        """The verdict on an event, None while it is not judged."""

    async def incidents_of_key(self, dedup_key: str) -> dict[UUID, Incident]:
        """Every incident an alert key has opened, by id."""


class Verdicts(Protocol):
    """Announcements of the projector's verdicts."""

    def expect(self, event_id: UUID) -> "asyncio.Future[None]":
        """Register interest before appending, so that no announcement can slip past."""

    async def wait(self, event_id: UUID, future: "asyncio.Future[None]", timeout_s: float) -> VerdictRow | None:
        """The verdict, or None when it has not come within `timeout_s`."""


@dataclass(frozen=True)
class KeyClaim:
    """What is stored for an Idempotency-Key after claiming it."""

    fresh: bool  # claimed by this request (not a retry)
    request_hash: str
    answer: RecordedAnswer | None  # the answer given last time, if one was


class IdempotencyKeys(Protocol):
    """Answers remembered per principal and Idempotency-Key."""

    async def claim(self, principal: str, key: str, request_hash: str, command_id: UUID) -> KeyClaim:
        """Record the key if new; return what is stored for it either way."""

    async def remember(self, principal: str, key: str, outcome: Accepted | Pending) -> None:
        """Store the answer to give every retry with this key."""


class ReleaseRequests(Protocol):
    """The projector's inbox of release requests for parked incidents."""

    async def request_release(self, key: str, requested_by: str) -> int:
        """File a request and wake the projector; the request's id."""

    async def release_outcome(self, request_id: int) -> ReleaseRow | None:
        """The projector's outcome, None while it has not carried the request out."""


class Clock(Protocol):
    """Where "now" comes from."""

    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
