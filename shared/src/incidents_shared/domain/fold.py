"""Judging each event at its place in the log: the verdicts every reader of the log reaches alike."""

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from incidents_shared.domain import events as e
from incidents_shared.domain.codec import GENESIS_HASH, chain_hash
from incidents_shared.domain.evolve import evolve
from incidents_shared.domain.preconditions import violation
from incidents_shared.domain.state import Incident


class VerdictKind(StrEnum):
    ACCEPTED = "accepted"
    REJECTED_CONFLICT = "rejected_conflict"
    REJECTED_INVALID = "rejected_invalid"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Verdict:
    event_id: UUID
    incident_id: UUID
    kind: VerdictKind
    reason: str | None
    version: int  # the stream position after the verdict
    revision: int  # the client-visible revision after the verdict
    hash: str | None  # chain hash of an accepted event

    @property
    def accepted(self) -> bool:
        return self.kind is VerdictKind.ACCEPTED


def judge(
    state: Incident | None, event: e.EventBase, *, seen: bool, canonical: bytes | None = None
) -> tuple[Verdict, Incident | None]:
    """The verdict on `event` given the incident's state at its place in the log, and the state after it.

    `seen` says whether this event id was already judged earlier in the log (a redelivery or a retry);
    `canonical`: the event's canonical bytes, when the caller has them (the hash chain needs them).
    """
    version = state.version if state else 0
    revision = state.revision if state else 0

    def reject(kind: VerdictKind, reason: str) -> tuple[Verdict, Incident | None]:
        return Verdict(event.event_id, event.incident_id, kind, reason, version, revision, None), state

    if seen:
        return reject(VerdictKind.DUPLICATE, "event already judged")
    if event.expected_version is not None and event.expected_version != revision:
        return reject(
            VerdictKind.REJECTED_CONFLICT,
            f"expected revision {event.expected_version}, incident is at revision {revision}",
        )
    if (reason := violation(state, event)) is not None:
        return reject(VerdictKind.REJECTED_INVALID, reason)
    new = advance(state, event, canonical)
    return Verdict(
        event.event_id, event.incident_id, VerdictKind.ACCEPTED, None, new.version, new.revision, new.last_hash
    ), new


def advance(state: Incident | None, event: e.EventBase, canonical: bytes | None = None) -> Incident:
    """Evolve and move the stream position, the revision and the hash chain."""
    previous_hash = state.last_hash if state else GENESIS_HASH
    bumps_revision = e.TYPE_OF[type(event)] not in e.BOOKKEEPING_TYPES
    return evolve(
        state,
        event,
        version=(state.version if state else 0) + 1,
        revision=(state.revision if state else 0) + (1 if bumps_revision else 0),
        last_hash=chain_hash(previous_hash, event, canonical),
    )
