"""What the read side hands the use cases: plain values, no database types."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class VerdictRow:
    """The projector's verdict on one event, with the incident's state as the fold stored it."""

    event_id: UUID
    incident_id: UUID
    type: str
    verdict: str
    reason: str | None
    version: int
    revision: int
    hash: str | None
    request_hash: str | None
    partition: int
    offset: int
    judged_at: datetime
    state_json: str | None = None  # the incident's current state as the fold stored it (JSON text), same query
    state_revision: int | None = None
    actor_id: str | None = None  # who wrote the event; None for verdicts judged before migration 0022

    @property
    def accepted(self) -> bool:
        return self.verdict == "accepted"

    def public(self) -> dict[str, Any]:
        return {
            "event_id": str(self.event_id),
            "incident_id": str(self.incident_id),
            "type": self.type,
            "verdict": self.verdict,
            "reason": self.reason,
            "version": self.version,
            "revision": self.revision,
            "hash": self.hash,
            "partition": self.partition,
            "offset": self.offset,
            "judged_at": self.judged_at.isoformat(),
        }


@dataclass(frozen=True)
class ReleaseRow:
    """The projector's outcome of a release request (table release_requests)."""

    outcome: str  # released | not_parked | still_poison
    detail: str | None
    judged: int | None
    accepted: int | None
