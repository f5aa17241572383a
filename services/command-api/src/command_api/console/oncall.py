"""GET /console/on-call (who is on call now, per team) and GET /console/on-call/schedules/{id}?week=YYYY-MM-DD (a
schedule's week, per local day, with "Take this shift").

The answers are the API's: `oncall_for_team` per team sorted by id, as GET /v1/oncall; `shifts` over the week, as
GET /v1/schedules/{id}/shifts; who may take a shift is `permissions.may_add_override`, the rule `authorize` applies
to the override itself (docs/decisions/0085).
"""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from command_api.console.identity import ConfigDep, ConsoleConfig, Person, SignedIn
from command_api.console.oncall_week import BadWeek, form_time, local, name_of, parse_week, week_period, week_view
from command_api.console.web import ConsoleRoute, page
from incidents_shared.domain import directory as d
from incidents_shared.domain.directory.model import Kind
from incidents_shared.domain.directory.permissions import may_add_override
from incidents_shared.domain.oncall import OVERRIDE, Schedule, shifts

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)
ONCALL = "/console/on-call"
NOT_IN_SCHEDULE = (
    "You are not part of this schedule (none of its layers or teams include you), so you cannot take its shifts."
    " A manager can add an override for you."
)


@dataclass(frozen=True)
class TeamNow:
    """A team's line of the on-call view: GET /v1/oncall's answer, with names and local times."""

    team: d.Team
    schedule: Schedule | None
    user: str | None
    who: str
    source: str | None
    until: datetime | None
    until_text: str

    @property
    def is_override(self) -> bool:
        return self.source == OVERRIDE


def week_link(schedule_id: str, week: str | None = None) -> str:
    return f"{ONCALL}/schedules/{schedule_id}" + (f"?week={week}" if week else "")


def team_now(state: d.DirectoryState, team: d.Team, now: datetime, names: dict[str, str]) -> TeamNow:
    answer = d.oncall_for_team(state, team.id, now)  # what GET /v1/oncall answers for the team
    schedule = state.schedules.get(team.schedule) if team.schedule else None
    if answer is None or schedule is None:
        return TeamNow(team, None, None, "no schedule", None, None, "-")
    until = local(answer.until, schedule.zone)
    return TeamNow(team, schedule, answer.user, name_of(answer.user, names), answer.source, answer.until, until)


def names_of(state: d.DirectoryState) -> dict[str, str]:
    return {user.id: user.name for user in state.users.values()}


def message(request: Request, person: Person, title: str, text: str, status: int) -> HTMLResponse:
    return page(request, "oncall_message.html", {"person": person, "title": title, "text": text}, status)


@router.get("/on-call")
async def oncall_now(request: Request, console: ConfigDep, person: SignedIn) -> HTMLResponse:
    state, now = console.directory(), datetime.now(UTC)
    names = names_of(state)
    teams = [team_now(state, team, now, names) for team in sorted(state.teams.values(), key=lambda t: t.id)]
    schedules = sorted(state.schedules.values(), key=lambda s: s.id)
    context = {"person": person, "teams": teams, "schedules": schedules, "at": now, "week_link": week_link}
    return page(request, "oncall.html", context)


@router.get("/on-call/schedules/{schedule_id}")
async def schedule_week(schedule_id: str, request: Request, console: ConfigDep, person: SignedIn) -> HTMLResponse:
    context = week_context(console, person, schedule_id, request.query_params.get("week"))
    if isinstance(context, str):
        return refusal(request, person, schedule_id, context)
    if request.query_params.get("taken") == "1":
        context["notice"] = "Done: you are on call for that shift now (an override in your name)."
    return page(request, "oncall_week.html", context)


def refusal(request: Request, person: Person, schedule_id: str, why: str) -> HTMLResponse:
    """The page for `week_context`'s "why not": 404 for an unknown schedule, 422 naming the field."""
    if why == "not-found":
        return message(request, person, "Not found", f"No schedule {schedule_id!r}.", 404)
    return message(request, person, "Not a week", f"Check the field {why}.", 422)


def week_context(
    console: ConsoleConfig, person: Person, schedule_id: str, week: str | None, **extra: Any
) -> dict[str, Any] | str:
    """What the week page shows, or why not: "not-found", or the BadWeek text naming the field."""
    state = console.directory()
    schedule = state.schedules.get(schedule_id)
    if schedule is None:
        return "not-found"
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    zone, today = schedule.zone, now.astimezone(schedule.zone).date()
    try:
        monday = parse_week(week, today)
    except BadWeek as exc:
        return str(exc)
    since, until = week_period(monday, zone)
    me = person.principal
    return {
        "person": person,
        "schedule": schedule,
        "week": week_view(shifts(schedule, since, until), monday, zone),  # what GET .../shifts answers
        "today": today,
        "now": now,  # a shift that is over is not offered; one under way is offered from now on
        "names": names_of(state),
        "name_of": name_of,
        "form_time": lambda instant: form_time(max(instant, now), zone),
        "revision": state.revision(Kind.SCHEDULE, schedule.id),
        "may_take": may_add_override(state, schedule.id, me.id, me.id, me.role),
        "not_in_schedule": NOT_IN_SCHEDULE,
        "form_key": secrets.token_urlsafe(16),
        "week_link": week_link,
        "notice": None,
        "conflict": None,
        "again": None,
    } | extra
