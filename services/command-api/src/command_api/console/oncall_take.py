"""POST /console/on-call/schedules/{id}/take: "Take this shift", an override {user: me, start, end} added through
the API's directory service (as POST /v1/schedules/{id}/overrides) as the signed-in person, with If-Match from the
schedule's revision the week was rendered at. `authorize` decides who may (docs/decisions/0085).

As on the incident page, a conflict (the schedule changed since) is never retried silently: the week is shown
again as it is now, with what stands in the way and the person's times kept for a retry on the new revision.
"""

from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from command_api.console.identity import Acting, ConfigDep, ConsoleConfig, Person
from command_api.console.oncall import NOT_IN_SCHEDULE, refusal, week_context, week_link
from command_api.console.oncall_week import local, name_of, parse_form_time
from command_api.console.web import ConsoleRoute, form_fields, page, unavailable
from command_api.deps import ContainerDep, CorrelationId
from command_api.directory_service import (
    Changed,
    ChangePending,
    ChangeRefused,
    ChangeRejected,
    DirectoryOutcome,
    DirectoryRequest,
)
from incidents_shared.domain import directory as d
from incidents_shared.domain.directory.errors import RevisionConflict
from incidents_shared.domain.errors import DomainError, Forbidden
from incidents_shared.domain.oncall import Override, Schedule

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)


@router.post("/on-call/schedules/{schedule_id}/take")
async def take_shift(
    schedule_id: str,
    request: Request,
    box: ContainerDep,
    console: ConfigDep,
    person: Acting,
    correlation: CorrelationId,
) -> Response:
    fields = await form_fields(request)
    schedule = console.directory().schedules.get(schedule_id)
    if schedule is None:
        return refusal(request, person, schedule_id, "not-found")
    asked = _asked(fields, schedule, person)
    if isinstance(asked, str):
        return _again(request, console, person, schedule_id, fields, asked, 422)
    if box.directory is None:
        return unavailable(request, "database")
    revision, key = int(fields["revision"]), (fields.get("key") or None)
    command = d.AddOverride(schedule_id=schedule_id, override=asked)
    ask = DirectoryRequest(person.principal, command, correlation, revision, key and key[:200])
    outcome = await box.directory.execute(ask)
    log.info("console_take_shift", schedule_id=schedule_id, outcome=type(outcome).__name__)
    return _answer(request, console, person, schedule_id, fields, outcome)


def _asked(fields: dict[str, str], schedule: Schedule, person: Person) -> Override | str:
    """The override the form asks for, or what is wrong with the form (naming the field)."""
    zone = schedule.zone
    start, end = parse_form_time(fields.get("start", ""), zone), parse_form_time(fields.get("end", ""), zone)
    if start is None or end is None:
        field = "start" if start is None else "end"
        return f"Check the field {field}: a date and time (YYYY-MM-DDTHH:MM) in {schedule.time_zone}."
    if not fields.get("revision", "").isdigit():
        return "The form lost its revision: reload the page."
    try:
        return Override(user=person.principal.id, start=start, end=end)
    except ValidationError:
        return "Check the field end: it must be after start."


def _answer(
    request: Request,
    console: ConsoleConfig,
    person: Person,
    schedule_id: str,
    fields: dict[str, str],
    outcome: DirectoryOutcome,
) -> Response:
    if isinstance(outcome, Changed):
        return RedirectResponse(week_link(schedule_id, fields.get("week") or None) + _taken(fields), status_code=303)
    if isinstance(outcome, ChangePending):
        text = "The log took it; its verdict is not in yet. Reload in a moment to see it."
        return _again(request, console, person, schedule_id, {"week": fields.get("week", "")}, text, 202)
    error = _error(outcome)
    if isinstance(error, RevisionConflict):
        return _conflict(request, console, person, schedule_id, fields)
    if isinstance(error, Forbidden):
        return _again(request, console, person, schedule_id, fields, NOT_IN_SCHEDULE, 403)
    if error is None:  # the same idempotency key with other values
        text = "This form was already sent with other values; it is shown again with a fresh one."
        return _again(request, console, person, schedule_id, fields, text, 422)
    status = 409 if isinstance(outcome, ChangeRejected) else 422
    return _again(request, console, person, schedule_id, fields, f"Not done: {error}.", status)


def _taken(fields: dict[str, str]) -> str:
    return ("&" if fields.get("week") else "?") + "taken=1"


def _error(outcome: DirectoryOutcome) -> DomainError | None:
    if isinstance(outcome, ChangeRefused):
        return outcome.error
    if isinstance(outcome, ChangeRejected):
        return outcome.verdict.error
    return None


def _conflict(
    request: Request, console: ConsoleConfig, person: Person, schedule_id: str, fields: dict[str, str]
) -> HTMLResponse:
    context = week_context(console, person, schedule_id, fields.get("week"))
    if isinstance(context, str):
        return refusal(request, person, schedule_id, context)
    in_the_way = _overrides_within(context["schedule"], fields, context["names"])
    conflict = {"base": int(fields.get("revision", "0") or 0), "overrides": in_the_way}
    extra: dict[str, Any] = {"conflict": conflict, "again": _times(fields)}
    return page(request, "oncall_week.html", context | extra, 409)


def _overrides_within(schedule: Schedule, fields: dict[str, str], names: dict[str, str]) -> list[tuple[str, ...]]:
    """The schedule's overrides now within the time the form asked for: (who, from, until), local times."""
    zone = schedule.zone
    start, end = parse_form_time(fields.get("start", ""), zone), parse_form_time(fields.get("end", ""), zone)
    if start is None or end is None:
        return []
    return [
        (name_of(o.user, names), local(o.start, zone), local(o.end, zone))
        for o in schedule.overrides
        if o.start < end and start < o.end
    ]


def _again(
    request: Request,
    console: ConsoleConfig,
    person: Person,
    schedule_id: str,
    fields: dict[str, str],
    text: str,
    status: int,
) -> HTMLResponse:
    context = week_context(console, person, schedule_id, fields.get("week"))
    if isinstance(context, str):
        return refusal(request, person, schedule_id, context)
    again = _times(fields) if "start" in fields or "end" in fields else None
    if fields.get("revision", "").isdigit():  # the retry stays based on what the person saw, as incident forms do
        context["revision"] = int(fields["revision"])
    return page(request, "oncall_week.html", context | {"notice": text, "again": again}, status)


def _times(fields: dict[str, str]) -> dict[str, str]:
    return {"start": fields.get("start", "")[:40], "end": fields.get("end", "")[:40]}
