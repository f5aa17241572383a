"""The command use case: decide on the current state, append, wait for the verdict, answer."""

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

import structlog

from command_api.auth import Principal
from command_api.idempotency import IdempotencyStore
from command_api.problems import Problem, from_domain
from command_api.readmodel import ReadModel, VerdictRow
from command_api.verdicts import VerdictWaiter
from incidents_shared.appender import KafkaAppender
from incidents_shared.domain import commands as c
from incidents_shared.domain.codec import request_hash
from incidents_shared.domain.decide import decide
from incidents_shared.domain.errors import DomainError
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


@dataclass(frozen=True)
class RawJson:
    """A JSON document already encoded (the incident's state as the projector stored it): sent as it is."""

    text: str


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # a JSON-able value, or RawJson
    headers: dict[str, str] = field(default_factory=dict)

    def document(self) -> Any:
        """The body as a JSON value (for storing it beside an Idempotency-Key)."""
        return json.loads(self.body.text) if isinstance(self.body, RawJson) else self.body


@dataclass
class CommandService:
    read_model: ReadModel
    appender: KafkaAppender
    waiter: VerdictWaiter
    idempotency: IdempotencyStore
    taxonomy: Taxonomy
    verdict_timeout_s: float
    retry_after_s: int
    crash_after_append: bool = False

    async def execute(self, req: Request) -> Answer:
        body_hash = request_hash(
            {
                "command": type(req.command).__name__,
                "incident": str(req.incident_id),
                "if_match": req.if_match,
                "body": req.command.model_dump(mode="json"),
            }
        )
        if req.idempotency_key is None:
            return await self._run(req, uuid4(), body_hash)
        command_id = uuid5(IDEMPOTENCY_NS, f"{req.principal.id}\x00{req.idempotency_key}")
        stored = await self.idempotency.claim(req.principal.id, req.idempotency_key, body_hash, command_id)
        if stored.request_hash != body_hash:
            raise Problem(
                422,
                "idempotency-key-reused",
                "Idempotency-Key already used for another request",
                "send a new Idempotency-Key for a different request",
            )
        if stored.status_code is not None and stored.status_code != 202:
            return Answer(stored.status_code, stored.response, {"ETag": stored.etag} if stored.etag else {})
        if not stored.fresh:
            await self._await_earlier_attempt(command_id)
        answer = await self._run(req, command_id, body_hash)
        etag = answer.headers.get("ETag")
        await self.idempotency.remember(req.principal.id, req.idempotency_key, answer.status, answer.document(), etag)
        return answer

    async def _await_earlier_attempt(self, command_id: UUID) -> None:
        """A retry of a command whose answer was never stored (the API died, or it is still running): if the
        first attempt reached the log, its verdict comes soon; waiting for it keeps the log free of a second copy."""
        first = uuid5(command_id, "0")
        await self.waiter.wait(first, self.waiter.expect(first), self.verdict_timeout_s)

    async def _run(self, req: Request, command_id: UUID, body_hash: str) -> Answer:
        incident_id = req.incident_id or uuid5(command_id, "incident")
        if req.idempotency_key is not None:
            earlier = await self.read_model.verdict(uuid5(command_id, "0"))
            if earlier is not None:
                return await self._answer(req, earlier)  # a retry of a command already judged
        meta = c.CommandMeta(
            incident_id=incident_id,
            command_id=command_id,
            actor=req.principal.actor(),
            now=datetime.now(UTC),
            correlation_id=req.correlation_id,
            expected_version=req.if_match,
            request_hash=body_hash,
        )
        state = await self.read_model.incident(incident_id)
        try:
            events = decide(state, req.command, meta, taxonomy=self.taxonomy)
        except DomainError as exc:
            current = state.revision if state else None
            raise from_domain(exc, **({"current_version": current} if current is not None else {})) from exc
        last = events[-1].event_id
        future = self.waiter.expect(last)
        await self.appender.append(events)
        if self.crash_after_append:
            log.warning("fault_injected_crash_after_append", events=[str(e.event_id) for e in events])
            os._exit(137)
        log.info(
            "command_appended",
            command=type(req.command).__name__,
            incident_id=str(incident_id),
            events=[str(e.event_id) for e in events],
        )
        if req.respond_async:
            return self._accepted_async(last)
        verdict = await self.waiter.wait(last, future, self.verdict_timeout_s)
        return self._accepted_async(last) if verdict is None else await self._answer(req, verdict)

    def _accepted_async(self, event_id: UUID) -> Answer:
        location = f"/v1/events/{event_id}"
        return Answer(
            202,
            {"status": "pending", "event_id": str(event_id), "location": location},
            {"Location": location, "Retry-After": "1"},
        )

    async def _answer(self, req: Request, verdict: VerdictRow) -> Answer:
        if verdict.verdict == "accepted":
            # The stored state is the incident's JSON as the fold wrote it: answer it as it is, undecoded.
            assert verdict.state_json is not None, "an accepted event always has a projected incident"
            headers = {"ETag": f'"{verdict.state_revision}"'}
            status = 200
            if req.incident_id is None:
                status, headers["Location"] = 201, f"/v1/incidents/{verdict.incident_id}"
            return Answer(status, RawJson(verdict.state_json), headers)
        slug = "version-conflict" if verdict.verdict == "rejected_conflict" else "invalid-transition"
        raise Problem(
            409,
            slug,
            "The log rejected the command",
            verdict.reason,
            event_id=str(verdict.event_id),
            current_version=verdict.revision,
        )
