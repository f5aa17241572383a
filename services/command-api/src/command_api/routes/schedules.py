"""Schedule routes beyond CRUD: overrides, who is on call (per schedule and per team), shifts and the iCalendar feed.

All answers come from the pure resolver (`domain.oncall`) on the directory as this instance has folded it.
"""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi import Request as HttpRequest
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from command_api.auth import Principal
from command_api.deps import CorrelationId, IdempotencyKey, IfMatch, parse_if_match, require
from command_api.directory_service import DirectoryRequest
from command_api.problems import Problem
from command_api.routes.directory_http import (
    ANSWERS,
    DELETED,
    READ_ANSWERS,
    AwareTime,
    DirectoryDep,
    Reader,
    answer_change,
    build,
    deleted,
)
from incidents_shared.directory_log.judge import DirectoryVerdict
from incidents_shared.domain import directory as d
from incidents_shared.domain.directory.permissions import who_may_ever
from incidents_shared.domain.oncall import Override, Schedule, Shift, oncall_at, shifts, to_ical
from incidents_shared.domain.timeutil import UtcDateTime, format_utc

router = APIRouter(prefix="/v1", tags=["schedules"])
# Managers, and responders for the overrides that cover themselves in a schedule they take part in (the use case
# asks `permissions.authorize`, the one rule the console's "Take this shift" goes through too; decision 0085).
OverrideCaller = Annotated[Principal, Depends(require(who_may_ever(d.AddOverride) | who_may_ever(d.RemoveOverride)))]
MAX_SPAN = timedelta(days=400)  # the longest period /shifts and the feed cover (the resolver's horizon)
FEED_PAST, FEED_FUTURE = timedelta(days=7), timedelta(days=90)
DEFAULT_SHIFTS = timedelta(days=14)
SINCE = Annotated[AwareTime | None, Query(alias="from", description="RFC 3339 with offset; default now")]
UNTIL = Annotated[AwareTime | None, Query(description="RFC 3339 with offset, after `from`")]


class OnCallNow(BaseModel):
    """`user` (null in a gap) from `source` (a layer's name, "override" or "gap") until `until` (null: beyond the
    resolver's horizon)."""

    user: str | None
    source: str
    since: UtcDateTime | None
    until: UtcDateTime | None


class ShiftShown(BaseModel):
    user: str | None
    source: str
    start: UtcDateTime
    end: UtcDateTime


class ShiftList(BaseModel):
    schedule: str
    start: UtcDateTime
    end: UtcDateTime
    shifts: list[ShiftShown]  # the whole period, gaps included (user null, source "gap")
    gaps: list[ShiftShown]


class TeamOnCall(BaseModel):
    team: str
    schedule: str | None  # null: the team has no schedule
    user: str | None
    source: str | None
    until: UtcDateTime | None


class OnCallList(BaseModel):
    at: UtcDateTime
    oncall: list[TeamOnCall]


def _time(value: datetime | None) -> str | None:
    return format_utc(value) if value is not None else None


def _schedule(directory: DirectoryDep, schedule_id: str) -> Schedule:
    found = directory.directory.state.schedules.get(schedule_id)
    if found is None:
        raise Problem(404, "not-found", "No such schedule", f"no schedule {schedule_id!r}")
    return found


def _period(
    start: datetime | None, end: datetime | None, default: tuple[timedelta, timedelta]
) -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    start = start or now - default[0]
    end = end or start + default[1]
    if end <= start:
        raise Problem(422, "validation", "until must be after from", "until: must be after from", field="until")
    if end - start > MAX_SPAN:
        raise Problem(
            422,
            "validation",
            "The period is too long",
            f"until: at most {MAX_SPAN.days} days after from",
            field="until",
        )
    return start, end


def _shift_json(shift: Shift) -> dict[str, Any]:
    return {"user": shift.user, "source": shift.source, "start": _time(shift.start), "end": _time(shift.end)}


@router.get(
    "/schedules/{schedule_id}.ics",
    responses={200: {"content": {"text/calendar": {}}}, **READ_ANSWERS},
    response_class=Response,
    summary="The schedule's shifts as an iCalendar feed (RFC 5545)",
)
async def schedule_feed(
    schedule_id: str, directory: DirectoryDep, _: Reader, start: SINCE = None, until: UNTIL = None
) -> Response:
    schedule = _schedule(directory, schedule_id)
    since, end = _period(start, until, (FEED_PAST, FEED_PAST + FEED_FUTURE))
    feed = to_ical(schedule, since, end, stamp=datetime.now(UTC))
    return Response(
        feed, media_type="text/calendar", headers={"Content-Disposition": f'inline; filename="{schedule.id}.ics"'}
    )


@router.get(
    "/schedules/{schedule_id}/oncall",
    response_model=OnCallNow,
    responses=READ_ANSWERS,
    summary="Who is on call at `at` (default now), from which layer or override, until when",
)
async def schedule_oncall(
    schedule_id: str, directory: DirectoryDep, _: Reader, at: Annotated[AwareTime | None, Query()] = None
) -> dict[str, Any]:
    answer = oncall_at(_schedule(directory, schedule_id), at or datetime.now(UTC))
    return {"user": answer.user, "source": answer.source, "since": _time(answer.since), "until": _time(answer.until)}


@router.get(
    "/schedules/{schedule_id}/shifts",
    response_model=ShiftList,
    responses=READ_ANSWERS,
    summary="The shifts of a period (default the next 14 days), gaps included and listed",
)
async def schedule_shifts(
    schedule_id: str, directory: DirectoryDep, _: Reader, start: SINCE = None, until: UNTIL = None
) -> dict[str, Any]:
    schedule = _schedule(directory, schedule_id)
    since, end = _period(start, until, (timedelta(0), DEFAULT_SHIFTS))
    found = shifts(schedule, since, end)
    return {
        "schedule": schedule.id,
        "start": _time(since),
        "end": _time(end),
        "shifts": [_shift_json(shift) for shift in found],
        "gaps": [_shift_json(shift) for shift in found if shift.user is None],
    }


@router.get("/oncall", response_model=OnCallList, summary="Who is on call now, per team")
async def everyone_oncall(directory: DirectoryDep, _: Reader) -> dict[str, Any]:
    state, now = directory.directory.state, datetime.now(UTC)
    return {
        "at": _time(now),
        "oncall": [_team_oncall(state, team, now) for team in sorted(state.teams.values(), key=lambda t: t.id)],
    }


def _team_oncall(state: d.DirectoryState, team: d.Team, now: datetime) -> dict[str, Any]:
    answer = d.oncall_for_team(state, team.id, now)
    if answer is None:
        return {"team": team.id, "schedule": None, "user": None, "source": None, "until": None}
    return {
        "team": team.id,
        "schedule": team.schedule,
        "user": answer.user,
        "source": answer.source,
        "until": _time(answer.until),
    }


# --- overrides ----------------------------------------------------------------------------------------------


def _override_path(schedule_id: str, override: Override) -> str:
    return f"/v1/schedules/{schedule_id}/overrides/{override.user}/{format_utc(override.start)}"


@router.post(
    "/schedules/{schedule_id}/overrides",
    status_code=201,
    responses={201: {"model": Override}, **ANSWERS},
    summary="Add an override: `user` covers [start, end), over every layer",
)
async def add_override(
    schedule_id: str,
    body: Override,
    http: HttpRequest,
    directory: DirectoryDep,
    correlation: CorrelationId,
    principal: OverrideCaller,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    command = build(lambda given: d.AddOverride(schedule_id=schedule_id, override=given), body)
    req = DirectoryRequest(principal, command, correlation, parse_if_match(if_match), idempotency_key)

    def added(verdict: DirectoryVerdict, ours: bool) -> Response:
        assert isinstance(verdict.event, d.events.OverrideAdded)
        override = verdict.event.data.override
        headers = {"ETag": f'"{verdict.revision}"', "Location": _override_path(schedule_id, override)}
        return JSONResponse(override.model_dump(mode="json"), 201, headers)

    return answer_change(await directory.execute(req), http.url.path, added)


@router.delete(
    "/schedules/{schedule_id}/overrides/{user}/{start}",
    status_code=204,
    responses={**DELETED, **ANSWERS},
    summary="Remove the override of `user` that starts at `start`",
)
async def remove_override(
    schedule_id: str,
    user: str,
    start: AwareTime,
    http: HttpRequest,
    directory: DirectoryDep,
    correlation: CorrelationId,
    principal: OverrideCaller,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    command = build(lambda given: d.RemoveOverride(schedule_id=schedule_id, user=user, start=given), start)
    req = DirectoryRequest(principal, command, correlation, parse_if_match(if_match), idempotency_key)
    return answer_change(await directory.execute(req), http.url.path, deleted)
