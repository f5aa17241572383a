"""The directory's write use case: authorize, decide on the folded directory, append, wait until the local fold
has judged the record, answer its verdict (docs/decisions/0069).

Idempotency lives on the log: with an Idempotency-Key the command id is uuid5 of (principal, key) and the event
id uuid5 of the command id, so a retry finds the first attempt's verdict in the `DirectoryLog` and gets the same
answer; the same key with another body is refused. A refusal (nothing appended) is decided again on a retry.
"""

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

import structlog

from command_api.auth import Principal, new_personal_token, token_hash
from command_api.outcomes import KeyReused
from command_api.ports import Clock, SystemClock
from incidents_shared.directory_log.appender import record_value
from incidents_shared.directory_log.judge import DirectoryVerdict
from incidents_shared.domain.codec import request_hash
from incidents_shared.domain.directory import (
    AnyDirectoryEvent,
    DirectoryCommand,
    DirectoryMeta,
    DirectoryState,
    IssueToken,
    decide,
    decode,
)
from incidents_shared.domain.directory.errors import InvalidDirectoryChange, ResourceNotFound
from incidents_shared.domain.directory.events import subject
from incidents_shared.domain.directory.model import Kind
from incidents_shared.domain.directory.permissions import authorize, default_token_role, pinned
from incidents_shared.domain.enums import Role
from incidents_shared.domain.errors import DomainError, UndecodableEvent

log = structlog.get_logger(__name__)
DIRECTORY_IDEMPOTENCY_NS = uuid5(NAMESPACE_URL, "urn:incidents:directory-idempotency-key")


class DirectoryReader(Protocol):
    """The directory as this instance has folded it from the log (`DirectoryLog`)."""

    @property
    def state(self) -> DirectoryState:
        """The directory after every record folded so far."""

    @property
    def is_ready(self) -> bool:
        """Whether the whole directory the log held at start is folded (until then, answers would be a prefix)."""

    def as_of(self, at: datetime) -> DirectoryState:
        """The directory as it stood at `at`."""

    def verdict(self, event_id: UUID) -> DirectoryVerdict | None:
        """The log's verdict on an event, None while not folded."""

    async def wait_for(self, offset: int, timeout_s: float) -> bool:
        """True once the record at `offset` is folded, False after `timeout_s`."""


class DirectoryWriter(Protocol):
    """The directory's log."""

    async def append(self, event: AnyDirectoryEvent) -> int:
        """Append, acknowledged by the log: the record's offset; raises `LogUnavailable` when it cannot."""


@dataclass(frozen=True)
class DirectoryRequest:
    """A directory command as asked over HTTP. `body`: what makes two requests with one key the same request
    (the command's own fields by default; for a token, the client's body, not the minted secret)."""

    principal: Principal
    command: DirectoryCommand
    correlation_id: str
    if_match: int | None = None
    idempotency_key: str | None = None
    body: Any = None

    def body_hash(self) -> str:
        body = self.body if self.body is not None else self.command.model_dump(mode="json")
        return request_hash({"command": type(self.command).__name__, "if_match": self.if_match, "body": body})


@dataclass(frozen=True)
class TokenAsk:
    """A request for a personal token (POST /v1/users/{id}/tokens); `role` None: the default role."""

    principal: Principal
    user: str
    role: Role | None
    label: str | None
    correlation_id: str
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Changed:
    """The log accepted the change; `ours`: the verdict is on the very record this request appended (not on an
    earlier attempt's, found by a retry)."""

    verdict: DirectoryVerdict
    ours: bool


@dataclass(frozen=True)
class ChangeRejected:
    """The record reached the log but broke a rule at its place there (another writer got there first)."""

    verdict: DirectoryVerdict


@dataclass(frozen=True)
class ChangeRefused:
    """Refused before anything was appended: not allowed for the caller, or not valid on the directory now."""

    error: DomainError


@dataclass(frozen=True)
class ChangePending:
    """Appended, but the local fold has not reached it within the wait."""

    event_id: UUID
    offset: int


DirectoryOutcome = Changed | ChangeRejected | ChangeRefused | ChangePending | KeyReused


@dataclass
class DirectoryService:
    directory: DirectoryReader
    appender: DirectoryWriter
    verdict_timeout_s: float
    clock: Clock = field(default_factory=SystemClock)

    async def execute(self, req: DirectoryRequest) -> DirectoryOutcome:
        state, body_hash = self.directory.state, req.body_hash()
        command_id = self._command_id(req)
        if req.idempotency_key is not None and (earlier := self.directory.verdict(uuid5(command_id, "0"))):
            return KeyReused() if earlier.event.request_hash != body_hash else _answer(earlier, ours=False)
        try:
            grant = authorize(state, req.command, req.principal.id, req.principal.role)
            [event] = decide(state, req.command, self._meta(req, command_id, body_hash))
        except DomainError as exc:
            return ChangeRefused(exc)
        if req.if_match is None and pinned(req.command, grant):
            event = event.model_copy(update={"expected_revision": state.revision(event.kind, subject(event))})
        return await self._append(event)

    async def issue_token(self, ask: TokenAsk) -> tuple[DirectoryOutcome, str]:
        """Mint a personal token for `ask.user` and put its hash on the log: the outcome and the token, to be shown
        once (only when the verdict is on this request's own record, `Changed.ours`)."""
        secret = new_personal_token()
        owner = self.directory.state.users.get(ask.user)
        if owner is None:  # the path names nobody (and maybe no id at all): nothing to decide
            return ChangeRefused(ResourceNotFound(Kind.USER, ask.user)), secret
        role = ask.role or default_token_role(owner.role, ask.principal.role)
        command = IssueToken(
            user=ask.user, token_id=secrets.token_hex(8), token_hash=token_hash(secret), role=role, label=ask.label
        )
        body = {"user": ask.user, "role": ask.role, "label": ask.label}
        req = DirectoryRequest(ask.principal, command, ask.correlation_id, None, ask.idempotency_key, body)
        return await self.execute(req), secret

    def _command_id(self, req: DirectoryRequest) -> UUID:
        if req.idempotency_key is None:
            return uuid4()
        return uuid5(DIRECTORY_IDEMPOTENCY_NS, f"{req.principal.id}\x00{req.idempotency_key}")

    def _meta(self, req: DirectoryRequest, command_id: UUID, body_hash: str) -> DirectoryMeta:
        return DirectoryMeta(
            command_id=command_id,
            actor=req.principal.actor(),
            now=self.clock.now(),
            correlation_id=req.correlation_id,
            expected_revision=req.if_match,
            request_hash=body_hash,
        )

    async def _append(self, event: AnyDirectoryEvent) -> DirectoryOutcome:
        if not _reads_back(event):
            return ChangeRefused(InvalidDirectoryChange((), "the change would not read back from the log as it is"))
        offset = await self.appender.append(event)
        if not await self.directory.wait_for(offset, self.verdict_timeout_s):
            log.warning("directory_verdict_late", event_id=str(event.event_id), offset=offset)
            return ChangePending(event.event_id, offset)
        verdict = self.directory.verdict(event.event_id)
        assert verdict is not None, "the fold has passed the record's offset, so it has judged the event"
        return _answer(verdict, ours=verdict.event == event)


def _answer(verdict: DirectoryVerdict, ours: bool) -> Changed | ChangeRejected:
    return Changed(verdict, ours) if verdict.accepted else ChangeRejected(verdict)


def _reads_back(event: AnyDirectoryEvent) -> bool:
    """Whether every reader of the log will decode the record as this event: never append what the fold would
    skip (a value the models accept but their JSON cannot carry back)."""
    try:
        return decode(record_value(event)) == event
    except UndecodableEvent:
        return False
