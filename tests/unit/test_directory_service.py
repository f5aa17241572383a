"""The directory's write use case against an in-memory log folded by the real `DirectoryFold`: verdicts, races,
Idempotency-Key replays, who may change what, self-service pinning, late folds and token issuance."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID, uuid4

from command_api.auth import Principal, token_hash
from command_api.directory_service import (
    Changed,
    ChangePending,
    ChangeRefused,
    ChangeRejected,
    DirectoryRequest,
    DirectoryService,
    TokenAsk,
)
from command_api.outcomes import KeyReused
from incidents_shared.directory_log import DirectoryFold, DirectoryVerdict, record_value
from incidents_shared.domain import directory as d
from incidents_shared.domain.directory.errors import (
    InvalidDirectoryChange,
    ResourceExists,
    ResourceNotFound,
    RevisionConflict,
)
from incidents_shared.domain.enums import Role
from incidents_shared.domain.errors import Forbidden
from incidents_shared.domain.oncall import Override, Schedule
from tests.unit.fakes import FakeClock
from tests.unit.test_directory import T0, user

ADMIN = Principal("root", Role.ADMIN)
MANAGER = Principal("boss", Role.MANAGER)


@dataclass
class MemoryLog:
    """The directory topic in memory, folded as it is appended (or not: `folding` False models a lagging fold)."""

    fold: DirectoryFold = field(default_factory=DirectoryFold)
    records: list[bytes] = field(default_factory=list)
    folding: bool = True
    before_next: list[d.AnyDirectoryEvent] = field(default_factory=list)  # another instance's appends, first

    @property
    def state(self) -> d.DirectoryState:
        return self.fold.state

    @property
    def is_ready(self) -> bool:
        return True

    def as_of(self, at: datetime) -> d.DirectoryState:
        return self.fold.as_of(at)

    def verdict(self, event_id: UUID) -> DirectoryVerdict | None:
        return self.fold.verdicts.get(event_id)

    async def wait_for(self, offset: int, timeout_s: float) -> bool:
        return self.fold.next_offset > offset

    async def append(self, event: d.AnyDirectoryEvent) -> int:
        for raced in (*self.before_next, event):
            self.records.append(record_value(raced))
            if self.folding:
                self.fold.apply(len(self.records) - 1, self.records[-1])
        self.before_next.clear()
        return len(self.records) - 1


def meta() -> d.DirectoryMeta:
    return d.DirectoryMeta(command_id=uuid4(), actor=ADMIN.actor(), now=T0, correlation_id="other-instance")


def service() -> tuple[DirectoryService, MemoryLog]:
    log = MemoryLog()
    return DirectoryService(log, log, verdict_timeout_s=1.0, clock=FakeClock()), log


def ask(
    command: d.DirectoryCommand,
    principal: Principal = ADMIN,
    if_match: int | None = None,
    idempotency_key: str | None = None,
) -> DirectoryRequest:
    return DirectoryRequest(principal, command, "corr", if_match, idempotency_key)


async def test_a_change_is_answered_with_the_log_verdict_on_its_own_record() -> None:
    changes, log = service()
    outcome = await changes.execute(ask(d.CreateUser(user=user("ann"))))
    assert isinstance(outcome, Changed) and outcome.ours
    assert (outcome.verdict.revision, outcome.verdict.resource, outcome.verdict.offset) == (1, user("ann"), 0)
    assert outcome.verdict.event.actor.id == "root" and len(log.records) == 1


async def test_refusals_append_nothing() -> None:
    changes, log = service()
    forbidden = await changes.execute(ask(d.CreateUser(user=user("ann")), MANAGER))
    assert isinstance(forbidden, ChangeRefused) and isinstance(forbidden.error, Forbidden)
    await changes.execute(ask(d.CreateUser(user=user("ann"))))
    again = await changes.execute(ask(d.CreateUser(user=user("ann"))))
    assert isinstance(again, ChangeRefused) and isinstance(again.error, ResourceExists)
    stale = await changes.execute(ask(d.UpdateUser(user=user("ann", name="A")), if_match=7))
    assert isinstance(stale, ChangeRefused) and isinstance(stale.error, RevisionConflict)
    assert len(log.records) == 1


async def test_a_record_another_instance_beat_is_rejected_at_its_place_in_the_log() -> None:
    changes, log = service()
    [first] = d.decide(d.DirectoryState(), d.CreateUser(user=user("ann", name="First")), meta())
    log.before_next.append(first)  # decided on the same empty directory, appended just before ours
    outcome = await changes.execute(ask(d.CreateUser(user=user("ann", name="Second"))))
    assert isinstance(outcome, ChangeRejected) and isinstance(outcome.verdict.error, ResourceExists)
    assert log.state.users["ann"].name == "First"


async def test_an_idempotency_key_replays_the_verdict_from_the_log_and_refuses_another_body() -> None:
    changes, log = service()
    create = ask(d.CreateUser(user=user("ann")), idempotency_key="k1")
    first = await changes.execute(create)
    await changes.execute(ask(d.UpdateUser(user=user("ann", name="Later"))))
    replay = await changes.execute(create)
    assert isinstance(first, Changed) and isinstance(replay, Changed) and not replay.ours
    assert replay.verdict == first.verdict and replay.verdict.resource == user("ann")  # as that change left it
    assert isinstance(await changes.execute(ask(d.CreateUser(user=user("bob")), idempotency_key="k1")), KeyReused)
    twin = ask(d.CreateUser(user=user("ann")), Principal("root2", Role.ADMIN), idempotency_key="k1")
    other_caller = await changes.execute(twin)
    assert isinstance(other_caller, ChangeRefused)  # another principal's key is another request
    assert len(log.records) == 2


async def test_a_self_service_update_is_pinned_to_the_revision_it_was_decided_on() -> None:
    changes, _ = service()
    await changes.execute(ask(d.CreateUser(user=user("ann"))))
    ann = Principal("ann", Role.RESPONDER)
    mine = await changes.execute(ask(d.UpdateUser(user=user("ann", name="Ann B")), ann))
    assert isinstance(mine, Changed) and mine.verdict.event.expected_revision == 1
    by_admin = await changes.execute(ask(d.UpdateUser(user=user("ann", name="Ann C"))))
    assert isinstance(by_admin, Changed) and by_admin.verdict.event.expected_revision is None
    promoted = await changes.execute(ask(d.UpdateUser(user=user("ann", role="admin")), ann))
    assert isinstance(promoted, ChangeRefused) and isinstance(promoted.error, Forbidden)


async def test_a_late_fold_answers_pending_and_a_retry_gets_the_verdict() -> None:
    changes, log = service()
    log.folding = False
    request = ask(d.CreateUser(user=user("ann")), idempotency_key="k")
    pending = await changes.execute(request)
    assert isinstance(pending, ChangePending) and pending.offset == 0
    log.fold.apply(0, log.records[0])
    later = await changes.execute(request)
    assert isinstance(later, Changed) and later.verdict.event_id == pending.event_id and not later.ours


async def test_a_token_is_minted_with_only_its_hash_on_the_log() -> None:
    changes, log = service()
    await changes.execute(ask(d.CreateUser(user=user("ann", role="manager"))))
    outcome, secret = await changes.issue_token(TokenAsk(Principal("ann", Role.RESPONDER), "ann", None, "ci", "c"))
    assert isinstance(outcome, Changed) and outcome.ours
    token = outcome.verdict.resource
    assert isinstance(token, d.Token) and token.role is Role.RESPONDER  # no wider than the calling token
    assert token.token_hash == token_hash(secret) and secret.encode() not in log.records[-1]
    assert d.token_holder(log.state, token_hash(secret)) == token
    unknown, _ = await changes.issue_token(TokenAsk(ADMIN, "Not A User", None, None, "c"))
    assert isinstance(unknown, ChangeRefused) and isinstance(unknown.error, ResourceNotFound)


async def test_a_change_the_log_could_not_read_back_is_refused_before_it_is_appended() -> None:
    changes, log = service()
    await changes.execute(ask(d.CreateUser(user=user("ann"))))
    layer = {"name": "primary", "start": "2027-01-04T09:00", "turn": "P1D", "users": ["ann"]}
    rota = Schedule.model_validate({"id": "rota", "name": "R", "time_zone": "UTC", "layers": [layer]})
    await changes.execute(ask(d.CreateSchedule(schedule=rota)))
    # Validation refuses such years; built around it, the canonical text (year 217, unpadded) would not parse back.
    ancient = Override.model_construct(user="ann", start=datetime(217, 9, 24, tzinfo=UTC), end=T0)
    outcome = await changes.execute(ask(d.AddOverride.model_construct(schedule_id="rota", override=ancient)))
    assert isinstance(outcome, ChangeRefused) and isinstance(outcome.error, InvalidDirectoryChange)
    assert len(log.records) == 2
