"""The command use case against in-memory fakes of its ports: verdicts, timeouts, If-Match and Idempotency-Key."""

import asyncio
import json
from uuid import uuid4

import pytest

from command_api.auth import Principal
from command_api.outcomes import (
    Accepted,
    KeyReused,
    NotParked,
    Pending,
    Refused,
    Rejected,
    Released,
    ReleasePending,
    Replayed,
    StillPoison,
)
from command_api.records import ReleaseRow
from command_api.release import ReleaseParked
from command_api.service import CommandService, Request
from incidents_shared.domain import commands as c
from incidents_shared.domain.enums import Level, Role
from incidents_shared.domain.errors import IncidentNotFound, InvalidTransition, VersionConflict
from incidents_shared.domain.events import EventBase
from tests.unit.fakes import FakeReadModel, Fakes

REPORTER = Principal("reporter-1", Role.REPORTER)
RESPONDER = Principal("responder-1", Role.RESPONDER)
LOG = c.LogIncident(title="Payments timing out", service="payments", impact=Level.MEDIUM, urgency=Level.HIGH)


def create(key: str | None = None, command: c.Command = LOG, *, respond_async: bool = False) -> Request:
    return Request(REPORTER, None, command, "corr-1", idempotency_key=key, respond_async=respond_async)


def act(incident: Accepted, command: c.Command, if_match: int | None = None, key: str | None = None) -> Request:
    return Request(RESPONDER, incident.incident_id, command, "corr-2", if_match, key)


async def logged(service: CommandService) -> Accepted:
    outcome = await service.execute(create())
    assert isinstance(outcome, Accepted)
    return outcome


async def until(condition: object, *, turns: int = 1000) -> None:
    """Let the other tasks run until `condition()` holds (no real sleeping)."""
    for _ in range(turns):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


async def test_a_create_answers_accepted_with_the_state_the_projector_stored() -> None:
    fakes = Fakes()
    outcome = await fakes.commands().execute(create())
    assert isinstance(outcome, Accepted)
    assert outcome.created
    stored = fakes.read_model.incidents[outcome.incident_id]
    assert outcome.state_json == stored.model_dump_json()
    assert outcome.revision == stored.revision
    assert json.loads(outcome.state_json)["title"] == "Payments timing out"
    assert fakes.log.types()[0] == "incident.logged"


async def test_a_transition_answers_accepted_not_created() -> None:
    fakes = Fakes()
    service = fakes.commands()
    incident = await logged(service)
    outcome = await service.execute(act(incident, c.Acknowledge(), if_match=incident.revision))
    assert isinstance(outcome, Accepted)
    assert not outcome.created
    assert outcome.revision == incident.revision + 1


async def test_a_command_the_domain_refuses_appends_nothing() -> None:
    fakes = Fakes()
    missing = Request(RESPONDER, uuid4(), c.Acknowledge(), "corr")
    outcome = await fakes.commands().execute(missing)
    assert isinstance(outcome, Refused)
    assert isinstance(outcome.error, IncidentNotFound)
    assert outcome.revision is None
    assert fakes.log.events == []


async def test_a_stale_if_match_is_refused_before_appending_with_the_current_revision() -> None:
    fakes = Fakes()
    service = fakes.commands()
    incident = await logged(service)
    appended = len(fakes.log.events)
    outcome = await service.execute(act(incident, c.Acknowledge(), if_match=incident.revision + 5))
    assert isinstance(outcome, Refused)
    assert isinstance(outcome.error, VersionConflict)
    assert outcome.revision == incident.revision
    assert len(fakes.log.events) == appended


async def test_if_match_race_the_log_accepts_the_first_and_rejects_the_second_as_a_conflict() -> None:
    fakes = Fakes()
    service = fakes.commands()
    incident = await logged(service)
    fakes.log.hold()  # both decide on the same revision; the log orders them
    first = asyncio.create_task(service.execute(act(incident, c.Acknowledge(), if_match=incident.revision)))
    second = asyncio.create_task(service.execute(act(incident, c.Assign(team="dba"), if_match=incident.revision)))
    await until(lambda: len(fakes.log.held) == 2)
    fakes.log.release()
    won, lost = await first, await second
    assert isinstance(won, Accepted)
    assert isinstance(lost, Rejected)
    assert lost.conflict
    assert lost.revision == incident.revision + 1
    assert lost.reason == f"expected revision {incident.revision}, incident is at revision {incident.revision + 1}"


async def test_a_command_the_log_rejects_as_invalid_is_rejected_not_a_conflict() -> None:
    fakes = Fakes()
    service = fakes.commands()
    incident = await logged(service)
    fakes.log.hold()
    resolve = c.Resolve(summary="fixed")
    first = asyncio.create_task(service.execute(act(incident, resolve)))
    second = asyncio.create_task(service.execute(act(incident, resolve)))
    await until(lambda: len(fakes.log.held) == 2)
    fakes.log.release()
    outcomes = [await first, await second]
    assert isinstance(outcomes[0], Accepted)
    assert isinstance(outcomes[1], Rejected)
    assert not outcomes[1].conflict


async def test_a_verdict_that_does_not_come_in_time_answers_pending_with_the_last_event() -> None:
    fakes = Fakes()
    fakes.log.hold()
    outcome = await fakes.commands(verdict_timeout_s=0.01).execute(create())
    assert outcome == Pending(fakes.log.events[-1].event_id)


async def test_respond_async_answers_pending_without_waiting() -> None:
    fakes = Fakes()
    fakes.log.hold()
    outcome = await fakes.commands(verdict_timeout_s=30).execute(create(respond_async=True))
    assert outcome == Pending(fakes.log.events[-1].event_id)


async def test_a_retry_while_the_first_attempt_is_pending_waits_for_it_and_appends_nothing_more() -> None:
    fakes = Fakes()
    service = fakes.commands()
    fakes.log.hold()
    first = asyncio.create_task(service.execute(create("key-1")))
    await until(lambda: bool(fakes.log.held))
    appended = len(fakes.log.events)
    retry = asyncio.create_task(service.execute(create("key-1")))
    logged_id = fakes.log.events[0].event_id  # the first attempt waits for it, and now the retry too
    await until(lambda: len(fakes.verdicts.waiting.get(logged_id, [])) == 2)
    fakes.log.release()
    answers = [await first, await retry]
    assert all(isinstance(a, Accepted) for a in answers)
    assert answers[0] == answers[1]
    assert len(fakes.log.events) == appended, "the retry appended no second copy"


async def test_a_retry_after_a_pending_answer_gets_the_verdict() -> None:
    fakes = Fakes()
    service = fakes.commands(verdict_timeout_s=0.01)
    fakes.log.hold()
    pending = await service.execute(create("key-1"))
    assert isinstance(pending, Pending)
    assert fakes.keys.rows["reporter-1", "key-1"].answer is not None
    assert not fakes.keys.rows["reporter-1", "key-1"].answer.final
    fakes.log.release()
    appended = len(fakes.log.events)
    accepted = await service.execute(create("key-1"))
    assert isinstance(accepted, Accepted)
    assert len(fakes.log.events) == appended


async def test_a_replay_of_a_completed_key_returns_the_stored_answer() -> None:
    fakes = Fakes()
    service = fakes.commands()
    first = await service.execute(create("key-1"))
    assert isinstance(first, Accepted)
    fakes.read_model.incidents.clear()  # the replay reads nothing but the key
    replay = await service.execute(create("key-1"))
    assert isinstance(replay, Replayed)
    assert replay.answer.status == 201
    assert replay.answer.document == json.loads(first.state_json)
    assert replay.answer.etag == f'"{first.revision}"'
    assert fakes.log.types().count("incident.logged") == 1


async def test_the_same_key_with_another_body_is_refused_and_appends_nothing() -> None:
    fakes = Fakes()
    service = fakes.commands()
    await service.execute(create("key-1"))
    appended = len(fakes.log.events)
    other = c.LogIncident(title="Something else", service="payments")
    assert await service.execute(create("key-1", other)) == KeyReused()
    assert len(fakes.log.events) == appended


async def test_keys_are_per_principal() -> None:
    fakes = Fakes()
    service = fakes.commands()
    mine = await service.execute(create("key-1"))
    theirs = await service.execute(Request(RESPONDER, None, LOG, "corr", idempotency_key="key-1"))
    assert isinstance(mine, Accepted)
    assert isinstance(theirs, Accepted)
    assert mine.incident_id != theirs.incident_id


async def test_refusals_are_not_remembered_a_retry_decides_again() -> None:
    fakes = Fakes()
    service = fakes.commands(verdict_timeout_s=0.01)
    incident = await logged(service)
    resume = act(incident, c.Resume(), key="resume-1")
    first = await service.execute(resume)
    assert isinstance(first, Refused)
    assert isinstance(first.error, InvalidTransition)
    assert fakes.keys.rows["responder-1", "resume-1"].answer is None
    assert isinstance(await service.execute(resume), Refused)


async def test_the_after_append_hook_runs_once_the_log_has_the_events_and_before_any_answer() -> None:
    fakes = Fakes()
    seen: list[list[EventBase]] = []

    class Crash(Exception):
        pass

    def crash(events: list[EventBase]) -> None:
        seen.append(events)
        raise Crash

    service = fakes.commands()
    service.after_append = crash
    with pytest.raises(Crash):
        await service.execute(create("key-1"))
    assert seen == [fakes.log.events]
    assert fakes.keys.rows["reporter-1", "key-1"].answer is None


# --- the release-parked operation ---------------------------------------------------------------------------


class Sleeps:
    """An injected sleep: counts the polls instead of waiting, and lets the projector answer at one of them."""

    def __init__(self, read_model: FakeReadModel, answer_at: int | None, row: ReleaseRow) -> None:
        self.read_model, self.answer_at, self.row, self.count = read_model, answer_at, row, 0

    async def __call__(self, seconds: float) -> None:
        self.count += 1
        if self.count == self.answer_at:
            self.read_model.release_rows[1] = self.row


async def release(row: ReleaseRow, answer_at: int | None = 3) -> tuple[object, FakeReadModel, Sleeps]:
    read_model = FakeReadModel()
    sleeps = Sleeps(read_model, answer_at, row)
    outcome = await ReleaseParked(read_model, wait_s=1.0, poll_s=0.1, sleep=sleeps)("key-1", "admin-1")
    return outcome, read_model, sleeps


async def test_a_release_files_the_request_and_answers_the_projectors_outcome() -> None:
    outcome, read_model, sleeps = await release(ReleaseRow("released", None, 3, 2))
    assert outcome == Released("key-1", 3, 2)
    assert read_model.releases == {1: ("key-1", "admin-1")}
    assert sleeps.count == 3


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (ReleaseRow("not_parked", "nothing parked", None, None), NotParked("nothing parked")),
        (ReleaseRow("still_poison", "still bad", None, None), StillPoison("still bad")),
    ],
)
async def test_a_release_the_projector_refuses_answers_why(row: ReleaseRow, expected: object) -> None:
    assert (await release(row))[0] == expected


async def test_a_release_not_carried_out_within_the_wait_is_pending() -> None:
    outcome, read_model, sleeps = await release(ReleaseRow("released", None, 1, 1), answer_at=None)
    assert outcome == ReleasePending("key-1", 1)
    assert sleeps.count == read_model.outcome_polls == 10
