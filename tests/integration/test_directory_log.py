"""The directory on its topic, on the real broker: appends fold into the state, a raced record is rejected at its
place in the log, `as_of` rebuilds the past, a new reader rebuilds the same directory, garbage is skipped."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from incidents_shared.directory_log import DirectoryAppender, DirectoryLog, read_directory
from incidents_shared.domain import directory as d
from incidents_shared.domain.directory.errors import ResourceExists, UnknownReference
from incidents_shared.domain.enums import ActorKind
from incidents_shared.domain.events import Actor
from incidents_shared.domain.oncall import Schedule, oncall_at
from incidents_shared.kafka import make_producer
from incidents_shared.settings import CommonSettings
from incidents_shared.supervise import Worker, background

ADMIN = Actor(id="test-admin", kind=ActorKind.USER, role="admin")
WAIT_S = 10.0


@pytest.fixture
async def directory(settings: CommonSettings) -> AsyncIterator[DirectoryLog]:
    reader = DirectoryLog(settings, "test-directory-log")
    async with background([Worker("test-directory-log", reader.run, restart=True)]):
        await reader.ready(WAIT_S)
        yield reader


@pytest.fixture
async def appender(settings: CommonSettings) -> AsyncIterator[DirectoryAppender]:
    writer = DirectoryAppender(settings, timeout_s=WAIT_S)
    await writer.start()
    yield writer
    await writer.stop()


def suffix() -> str:
    return uuid.uuid4().hex[:8]


def meta(now: datetime | None = None, **fields: Any) -> d.DirectoryMeta:
    return d.DirectoryMeta(
        command_id=uuid.uuid4(), actor=ADMIN, now=now or datetime.now(UTC), correlation_id="test", **fields
    )


def a_user(user_id: str, name: str | None = None) -> d.User:
    return d.User(id=user_id, name=name or user_id, email=f"{user_id}@example.com", time_zone="UTC", role="responder")


def a_rota(schedule_id: str, *users: str) -> Schedule:
    layer = {"name": "primary", "start": "2027-01-04T09:00", "turn": "P1D", "users": list(users)}
    body = {"id": schedule_id, "name": "Rota", "time_zone": "Europe/Amsterdam", "layers": [layer]}
    return Schedule.model_validate(body)


async def append(
    directory: DirectoryLog, appender: DirectoryAppender, command: d.DirectoryCommand, **fields: Any
) -> tuple[d.AnyDirectoryEvent, int]:
    """Decide on the folded directory, append, wait until the reader folded it: what the command API does."""
    [event] = d.decide(directory.state, command, meta(**fields))
    offset = await appender.append(event)
    assert await directory.wait_for(offset, WAIT_S)
    return event, offset


async def test_appended_events_fold_into_the_state_with_their_verdicts(
    directory: DirectoryLog, appender: DirectoryAppender
) -> None:
    ann = f"ann-{suffix()}"
    created, offset = await append(directory, appender, d.CreateUser(user=a_user(ann)))
    assert directory.state.users[ann] == a_user(ann)
    verdict = directory.verdict(created.event_id)
    assert verdict is not None and verdict.accepted
    assert (verdict.offset, verdict.revision) == (offset, 1)
    await append(directory, appender, d.UpdateUser(user=a_user(ann, "Ann B")), expected_revision=1)
    assert directory.state.users[ann].name == "Ann B"
    assert directory.state.revision(d.Kind.USER, ann) == 2
    assert directory.verdict(uuid.uuid4()) is None


async def test_a_raced_record_that_breaks_a_rule_is_rejected_at_fold_time(
    directory: DirectoryLog, appender: DirectoryAppender
) -> None:
    bob, team = f"bob-{suffix()}", f"team-{suffix()}"
    await append(directory, appender, d.CreateUser(user=a_user(bob)))
    # Two API instances decide on the same directory: one deletes bob, the other names him in a new team; and both
    # create the same user.
    seen = directory.state
    [delete] = d.decide(seen, d.DeleteUser(id=bob), meta())
    [in_team] = d.decide(seen, d.CreateTeam(team=d.Team(id=team, name="T", members=[bob])), meta())
    twin = f"twin-{suffix()}"
    [first] = d.decide(seen, d.CreateUser(user=a_user(twin, "First")), meta())
    [second] = d.decide(seen, d.CreateUser(user=a_user(twin, "Second")), meta())
    offsets = [await appender.append(event) for event in (delete, in_team, first, second)]
    assert await directory.wait_for(offsets[-1], WAIT_S)

    verdicts = [directory.verdict(event.event_id) for event in (delete, in_team, first, second)]
    assert [v.accepted if v else None for v in verdicts] == [True, False, True, False]
    assert verdicts[1] is not None and isinstance(verdicts[1].error, UnknownReference)
    assert verdicts[1].error.field == "members.0"
    assert verdicts[3] is not None and isinstance(verdicts[3].error, ResourceExists)
    assert bob not in directory.state.users and team not in directory.state.teams
    assert directory.state.users[twin].name == "First"


async def test_as_of_before_and_after_a_change(
    settings: CommonSettings, directory: DirectoryLog, appender: DirectoryAppender
) -> None:
    tag = suffix()
    ann, cid, rota = f"ann-{tag}", f"cid-{tag}", f"rota-{tag}"
    created, _ = await append(directory, appender, d.CreateUser(user=a_user(ann)))
    await append(directory, appender, d.CreateUser(user=a_user(cid)))
    await append(directory, appender, d.CreateSchedule(schedule=a_rota(rota, ann)))
    before = datetime.now(UTC)
    await asyncio.sleep(0.01)
    change, _ = await append(directory, appender, d.UpdateSchedule(schedule=a_rota(rota, cid)))
    noon = datetime(2027, 1, 4, 12, tzinfo=UTC)
    then, now = directory.as_of(before), directory.as_of(change.occurred_at)
    assert oncall_at(then.schedules[rota], noon).user == ann
    assert oncall_at(now.schedules[rota], noon).user == cid
    assert (change.actor, now.schedules[rota]) == (ADMIN, directory.state.schedules[rota])
    assert ann not in directory.as_of(created.occurred_at - timedelta(microseconds=1)).users
    from_tool = await read_directory(settings, as_of=before)
    assert from_tool.schedules[rota] == then.schedules[rota]


async def test_a_new_reader_rebuilds_the_same_directory_and_skips_garbage(
    settings: CommonSettings, directory: DirectoryLog, appender: DirectoryAppender
) -> None:
    producer = make_producer(settings)
    await producer.start()
    try:
        garbage = await producer.send_and_wait(settings.directory_topic, b"{not json", key=b"user:x", partition=0)
    finally:
        await producer.stop()
    dan = f"dan-{suffix()}"
    event, offset = await append(directory, appender, d.CreateUser(user=a_user(dan)))
    assert garbage.offset < offset and dan in directory.state.users
    again = await appender.append(event)  # a retried append of the same event: the first verdict holds
    assert await directory.wait_for(again, WAIT_S)
    verdict = directory.verdict(event.event_id)
    assert verdict is not None and verdict.accepted and verdict.offset == offset

    rebuilt = DirectoryLog(settings, "test-directory-log-rebuilt")
    async with background([Worker("test-directory-log-rebuilt", rebuilt.run, restart=True)]):
        await rebuilt.ready(WAIT_S)
        assert rebuilt.next_offset >= again + 1
        assert rebuilt.state == directory.state
        assert rebuilt.verdict(event.event_id) == verdict
    assert (await read_directory(settings)).users[dan] == a_user(dan)
