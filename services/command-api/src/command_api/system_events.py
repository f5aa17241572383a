"""Events the command API appends on its own behalf (docs/decisions/0076): the note that a maintenance window held
an incident's alerts, and the resolution of a heartbeat's incident when the heartbeat pings again.

Built as the escalator builds its events, with a system actor and a deterministic id: a retry after a crash is a
duplicate the fold ignores. Each is checked against the preconditions first, so an incident that is no longer
open gets no resolution (the log would reject it anyway).
"""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import structlog

from command_api.ports import IncidentReader, LogAppender, Verdicts
from command_api.records import VerdictRow
from incidents_shared.domain import events as e
from incidents_shared.domain import payloads as p
from incidents_shared.domain.enums import ActorKind, NoteKind, ResolutionCode
from incidents_shared.domain.events import Actor, EventBase
from incidents_shared.domain.preconditions import violation

log = structlog.get_logger(__name__)


def system_actor(name: str) -> Actor:
    return Actor(id=name, kind=ActorKind.SYSTEM, role="system")


def _envelope(event_id: UUID, incident_id: UUID, actor: Actor, now: datetime, correlation_id: str) -> dict[str, object]:
    return {
        "event_id": event_id,
        "incident_id": incident_id,
        "occurred_at": now,
        "recorded_at": now,
        "actor": actor,
        "correlation_id": correlation_id,
    }


def note(event_id: UUID, incident_id: UUID, actor: Actor, text: str, now: datetime, correlation_id: str) -> e.NoteAdded:
    data = p.NoteAddedData(kind=NoteKind.NOTE, text=text[:20_000])
    return e.NoteAdded(**_envelope(event_id, incident_id, actor, now, correlation_id), data=data)


def resolution(
    event_id: UUID, incident_id: UUID, actor: Actor, summary: str, now: datetime, correlation_id: str
) -> e.IncidentResolved:
    data = p.ResolvedData(resolution_code=ResolutionCode.AUTO_RESOLVED, summary=summary[:20_000])
    return e.IncidentResolved(**_envelope(event_id, incident_id, actor, now, correlation_id), data=data)


@dataclass
class SystemWriter:
    """Appends one system event when the incident's state allows it, and waits (bounded) for its verdict."""

    read_model: IncidentReader
    appender: LogAppender
    waiter: Verdicts
    timeout_s: float

    async def append(self, event: EventBase) -> VerdictRow | None:
        """The verdict, or None when the event was not appended (not allowed now) or its verdict is late."""
        state = await self.read_model.incident(event.incident_id)
        if (reason := violation(state, event)) is not None:
            log.info("system_event_skipped", type=e.event_type(type(event)), incident_id=str(event.incident_id),
                     reason=reason)  # fmt: skip
            return None
        future = self.waiter.expect(event.event_id)
        await self.appender.append([event])
        return await self.waiter.wait(event.event_id, future, self.timeout_s)
