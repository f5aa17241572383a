"""In-memory fakes of the command API's ports (command_api.ports), for the use cases' unit tests.

The fake projector judges with the shared fold, as the real one does, so a fake log and read model behave like
the real pair: events are judged in log order, a verdict is announced, the incident's state moves on. The log can
hold its events back (`hold()`), which is how the tests open the windows in which races happen.
"""

import asyncio
import contextlib
import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from command_api.alerts_service import AlertService
from command_api.http_answers import record, recorded
from command_api.outcomes import Accepted, Pending, RecordedAnswer
from command_api.ports import KeyClaim
from command_api.records import ReleaseRow, VerdictRow
from command_api.service import CommandService
from incidents_shared.domain.alerts import AlertMapping
from incidents_shared.domain.events import TYPE_OF, EventBase
from incidents_shared.domain.fold import judge
from incidents_shared.domain.state import Incident
from incidents_shared.domain.taxonomy import DEFAULT_TAXONOMY
from tests.unit.builders import T0


class FakeClock:
    def __init__(self, now: datetime = T0) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


class FakeVerdicts:
    """The `Verdicts` port: futures resolved when the fake projector announces a verdict."""

    def __init__(self, read_model: "FakeReadModel") -> None:
        self.read_model = read_model
        self.waiting: dict[UUID, list[asyncio.Future[None]]] = {}

    def expect(self, event_id: UUID) -> "asyncio.Future[None]":
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(event_id, []).append(future)
        return future

    async def wait(self, event_id: UUID, future: "asyncio.Future[None]", timeout_s: float) -> VerdictRow | None:
        if (known := await self.read_model.verdict(event_id)) is not None:
            return known
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(future), timeout_s)
        return await self.read_model.verdict(event_id)

    def announce(self, event_id: UUID) -> None:
        for future in self.waiting.pop(event_id, []):
            if not future.done():
                future.set_result(None)


@dataclass
class FakeReadModel:
    """The `IncidentReader` and `ReleaseRequests` ports: the rows the projector would have written."""

    incidents: dict[UUID, Incident] = field(default_factory=dict)
    verdicts: dict[UUID, VerdictRow] = field(default_factory=dict)
    releases: dict[int, tuple[str, str]] = field(default_factory=dict)  # request id -> (key, requested by)
    release_rows: dict[int, ReleaseRow] = field(default_factory=dict)
    outcome_polls: int = 0

    async def incident(self, incident_id: UUID) -> Incident | None:
        return self.incidents.get(incident_id)

    async def verdict(self, event_id: UUID) -> VerdictRow | None:
        row = self.verdicts.get(event_id)
        if row is None:
            return None
        state = self.incidents.get(row.incident_id)  # the real query joins the incident's current state
        state_json = state.model_dump_json() if state else None
        return dataclasses.replace(row, state_json=state_json, state_revision=state.revision if state else None)

    async def incidents_of_key(self, dedup_key: str) -> dict[UUID, Incident]:
        return {i: s for i, s in self.incidents.items() if s.dedup_key == dedup_key}

    async def request_release(self, key: str, requested_by: str) -> int:
        request_id = len(self.releases) + 1
        self.releases[request_id] = (key, requested_by)
        return request_id

    async def release_outcome(self, request_id: int) -> ReleaseRow | None:
        self.outcome_polls += 1
        return self.release_rows.get(request_id)


class FakeProjector:
    """Judges events in log order with the shared fold, stores verdicts and states, announces each verdict."""

    def __init__(self, read_model: FakeReadModel, verdicts: FakeVerdicts, clock: FakeClock) -> None:
        self.read_model, self.verdicts, self.clock = read_model, verdicts, clock
        self.offset = 0

    def project(self, events: list[EventBase]) -> None:
        for event in events:
            seen = event.event_id in self.read_model.verdicts
            verdict, state = judge(self.read_model.incidents.get(event.incident_id), event, seen=seen)
            self.offset += 1
            if seen:
                continue
            if state is not None:
                self.read_model.incidents[event.incident_id] = state
            self.read_model.verdicts[event.event_id] = VerdictRow(
                event.event_id,
                event.incident_id,
                TYPE_OF[type(event)],
                verdict.kind.value,
                verdict.reason,
                verdict.version,
                verdict.revision,
                verdict.hash,
                event.request_hash,
                0,
                self.offset,
                self.clock.now(),
            )
            self.verdicts.announce(event.event_id)


class FakeLog:
    """The `LogAppender` port: keeps every appended event; judges it at once unless held."""

    def __init__(self, projector: FakeProjector) -> None:
        self.projector = projector
        self.events: list[EventBase] = []
        self.held: list[EventBase] = []
        self.holding = False

    async def append(self, events: list[EventBase]) -> None:
        self.events.extend(events)
        if self.holding:
            self.held.extend(events)
        else:
            self.projector.project(events)

    def hold(self) -> None:
        self.holding = True

    def release(self) -> None:
        """Judge what was held back, in log order, and judge every later append at once."""
        held, self.held, self.holding = self.held, [], False
        self.projector.project(held)

    def types(self, incident_id: UUID | None = None) -> list[str]:
        return [TYPE_OF[type(e)] for e in self.events if incident_id is None or e.incident_id == incident_id]


@dataclass
class KeyRow:
    request_hash: str
    command_id: UUID
    answer: RecordedAnswer | None = None


class FakeIdempotencyKeys:
    """The `IdempotencyKeys` port: answers kept in the form the real store keeps them (http_answers.record)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], KeyRow] = {}

    async def claim(self, principal: str, key: str, request_hash: str, command_id: UUID) -> KeyClaim:
        fresh = (principal, key) not in self.rows
        row = self.rows.setdefault((principal, key), KeyRow(request_hash, command_id))
        return KeyClaim(fresh, row.request_hash, row.answer)

    async def remember(self, principal: str, key: str, outcome: Accepted | Pending) -> None:
        kept = record(outcome)
        self.rows[principal, key].answer = recorded(kept.status, kept.document, kept.etag)


class Fakes:
    """Every port faked and wired together, and the use cases built on them (a composition root for tests)."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.read_model = FakeReadModel()
        self.verdicts = FakeVerdicts(self.read_model)
        self.projector = FakeProjector(self.read_model, self.verdicts, self.clock)
        self.log = FakeLog(self.projector)
        self.keys = FakeIdempotencyKeys()

    def commands(self, verdict_timeout_s: float = 1.0) -> CommandService:
        return CommandService(
            self.read_model,
            self.log,
            self.verdicts,
            self.keys,
            DEFAULT_TAXONOMY,
            verdict_timeout_s,
            clock=self.clock,
        )

    def alerts(self, mapping: AlertMapping | None = None, verdict_timeout_s: float = 1.0) -> AlertService:
        mapping = mapping or AlertMapping()
        return AlertService(
            self.read_model, self.log, self.verdicts, mapping, DEFAULT_TAXONOMY, verdict_timeout_s, self.clock
        )
