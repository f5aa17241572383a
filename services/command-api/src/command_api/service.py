"""The command use case: decide on the current state, append, wait for the verdict, answer a typed outcome."""

from dataclasses import dataclass, field
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

import structlog

from command_api.auth import Principal
from command_api.outcomes import Accepted, CommandOutcome, KeyReused, Pending, Refused, Rejected, Replayed
from command_api.ports import AfterAppend, Clock, IdempotencyKeys, IncidentReader, LogAppender, SystemClock, Verdicts
from command_api.records import VerdictRow
from incidents_shared.domain import commands as c
from incidents_shared.domain.codec import request_hash
from incidents_shared.domain.decide import decide
from incidents_shared.domain.errors import DomainError
from incidents_shared.domain.events import EventBase
from incidents_shared.domain.limits import DEFAULT_NOTE_LIMITS, NoteLimits
from incidents_shared.domain.taxonomy import Taxonomy

log = structlog.get_logger(__name__)
IDEMPOTENCY_NS = uuid5(NAMESPACE_URL, "urn:incidents:idempotency-key")


@dataclass(frozen=True)
class Request:
    principal: Principal
    incident_id: UUID | None  # None: a new incident
    command: c.Command
    correlation_id: str
    if_match: int | None = None
    idempotency_key: str | None = None
    respond_async: bool = False

    def body_hash(self) -> str:
        """What makes two requests with one Idempotency-Key the same request."""
        return request_hash(
            {
                "command": type(self.command).__name__,
                "incident": str(self.incident_id),
                "if_match": self.if_match,
                "body": self.command.model_dump(mode="json"),
            }
        )


def no_hook(events: list[EventBase]) -> None:
    """No hook after an append."""


@dataclass
class CommandService:
    read_model: IncidentReader
    appender: LogAppender
    waiter: Verdicts
    idempotency: IdempotencyKeys
    taxonomy: Taxonomy
    verdict_timeout_s: float
    clock: Clock = field(default_factory=SystemClock)
    after_append: AfterAppend = no_hook
    note_limits: NoteLimits = DEFAULT_NOTE_LIMITS

    async def execute(self, req: Request) -> CommandOutcome:
        body_hash = req.body_hash()
        if req.idempotency_key is None:
            return await self._run(req, uuid4(), body_hash)
        command_id = uuid5(IDEMPOTENCY_NS, f"{req.principal.id}\x00{req.idempotency_key}")
        claim = await self.idempotency.claim(req.principal.id, req.idempotency_key, body_hash, command_id)
        if claim.request_hash != body_hash:
            return KeyReused()
        if claim.answer is not None and claim.answer.final:
            return Replayed(claim.answer)
        if not claim.fresh:
            await self._await_earlier_attempt(command_id)
        outcome = await self._run(req, command_id, body_hash)
        if isinstance(outcome, Accepted | Pending):  # refusals are decided again on a retry, never replayed
            await self.idempotency.remember(req.principal.id, req.idempotency_key, outcome)
        return outcome

    async def _await_earlier_attempt(self, command_id: UUID) -> None:
        """A retry of a command whose answer was never stored (the API died, or it is still running): if the
        first attempt reached the log, its verdict comes soon; waiting for it keeps the log free of a second copy."""
        first = uuid5(command_id, "0")
        await self.waiter.wait(first, self.waiter.expect(first), self.verdict_timeout_s)

    async def _run(self, req: Request, command_id: UUID, body_hash: str) -> CommandOutcome:
        incident_id = req.incident_id or uuid5(command_id, "incident")
        if req.idempotency_key is not None:
            earlier = await self.read_model.verdict(uuid5(command_id, "0"))
            if earlier is not None:
                return _judged(req, earlier)  # a retry of a command already judged
        meta = c.CommandMeta(
            incident_id=incident_id,
            command_id=command_id,
            actor=req.principal.actor(),
            now=self.clock.now(),
            correlation_id=req.correlation_id,
            expected_version=req.if_match,
            request_hash=body_hash,
        )
        state = await self.read_model.incident(incident_id)
        try:
            events = decide(state, req.command, meta, taxonomy=self.taxonomy, limits=self.note_limits)
        except DomainError as exc:
            return Refused(exc, state.revision if state else None)
        return await self._append(req, events)

    async def _append(self, req: Request, events: list[EventBase]) -> CommandOutcome:
        last = events[-1].event_id
        future = self.waiter.expect(last)
        await self.appender.append(events)
        self.after_append(events)
        log.info(
            "command_appended",
            command=type(req.command).__name__,
            incident_id=str(events[-1].incident_id),
            events=[str(e.event_id) for e in events],
        )
        if req.respond_async:
            return Pending(last)
        verdict = await self.waiter.wait(last, future, self.verdict_timeout_s)
        return Pending(last) if verdict is None else _judged(req, verdict)


def _judged(req: Request, verdict: VerdictRow) -> Accepted | Rejected:
    if verdict.accepted:
        assert verdict.state_json is not None, "an accepted event always has a projected incident"
        assert verdict.state_revision is not None
        return Accepted(verdict.incident_id, verdict.state_json, verdict.state_revision, req.incident_id is None)
    return Rejected(verdict.event_id, verdict.verdict == "rejected_conflict", verdict.reason, verdict.revision)
