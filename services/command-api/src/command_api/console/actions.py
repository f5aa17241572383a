"""POST /console/incidents/{id}/{action}: the incident page's forms, run by the API's command service as the
signed-in person, with If-Match from the revision the form was rendered at.

A conflict (someone changed the incident since) is never retried silently: the page shows what changed and
offers the person's own input again, based on the new revision.
"""

from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from command_api.console import views
from command_api.console.identity import Acting, ConfigDep, ConsoleConfig, Person
from command_api.console.incident import form_context, incident_context, not_found
from command_api.console.sessions import CSRF_FIELD
from command_api.console.web import ConsoleRoute, form_fields, page
from command_api.deps import Container, ContainerDep, CorrelationId
from command_api.outcomes import Accepted, CommandOutcome, Pending, Refused, Rejected, Replayed
from command_api.routes.commands import ACTIONS
from command_api.service import Request as CommandRequest
from incidents_shared.domain import commands as c
from incidents_shared.domain.errors import VersionConflict

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)
FORM_ONLY = {CSRF_FIELD, "revision", "key"}  # fields of the form, not of the command


@dataclass(frozen=True)
class Attempt:
    """One form sent from the incident page: who sent which action's fields about which incident."""

    request: Request
    box: Container
    console: ConsoleConfig
    person: Person
    incident_id: UUID
    action: str
    fields: dict[str, str]


@router.post("/incidents/{incident_id}/{action}")
async def act(
    incident_id: UUID,
    action: str,
    request: Request,
    box: ContainerDep,
    console: ConfigDep,
    person: Acting,
    correlation: CorrelationId,
) -> Response:
    cls = ACTIONS.get(action)
    attempt = Attempt(request, box, console, person, incident_id, action, await form_fields(request))
    if cls is None:
        return not_found(request, person, incident_id)
    if "more" in attempt.fields:  # the review form's "add more rows": the same form again, nothing sent
        return await _again(attempt, "More rows for action items below.", 200)
    try:
        command = cls.model_validate(views.command_body(attempt.fields, FORM_ONLY))
    except ValidationError as exc:
        field = ".".join(str(p) for p in exc.errors()[0]["loc"]) or "body"
        return await _again(attempt, f"Check the field {field}.", 422)
    revision = attempt.fields.get("revision", "")
    if not revision.isdigit():
        return await _again(attempt, "The form lost its revision.", 422)
    if isinstance(command, c.Link) and await box.read_model.incident(command.other_incident_id) is None:
        return await _again(attempt, f"No incident {command.other_incident_id} to link to.", 422)
    key = attempt.fields.get("key") or None
    ask = CommandRequest(person.principal, incident_id, command, correlation, int(revision), key and key[:200])
    outcome = await box.commands.execute(ask)
    log.info("console_action", action=action, incident_id=str(incident_id), outcome=type(outcome).__name__)
    return await _answer(attempt, outcome)


async def _answer(attempt: Attempt, outcome: CommandOutcome) -> Response:
    if isinstance(outcome, Accepted | Replayed):
        return RedirectResponse(f"/console/incidents/{attempt.incident_id}", status_code=303)
    if isinstance(outcome, Pending):
        text = "The log took it; its verdict is not in yet. The page updates when it is."
        return await _again(replace(attempt, fields={}), text, 202)
    if _is_conflict(outcome):
        return await _conflict(attempt)
    reason = str(outcome.error) if isinstance(outcome, Refused) else getattr(outcome, "reason", None)
    text = f"Not done: {reason or 'the incident does not allow it now'}."
    return await _again(attempt, text, 409)


def _is_conflict(outcome: CommandOutcome) -> bool:
    if isinstance(outcome, Rejected):
        return outcome.conflict
    return isinstance(outcome, Refused) and isinstance(outcome.error, VersionConflict)


async def _conflict(attempt: Attempt) -> HTMLResponse:
    context = await incident_context(attempt.box, attempt.console, attempt.person, attempt.incident_id)
    if context is None:
        return not_found(attempt.request, attempt.person, attempt.incident_id)
    base = int(attempt.fields.get("revision", "0") or 0)
    changed = views.changed_since(context["events"], base, context["names"])
    forms = form_context(attempt.person, context["incident"].revision, attempt.fields)
    conflict = {"action": attempt.action, "changed": changed, "base": base}
    extra = {"conflict": conflict, "prefill": {attempt.action: attempt.fields}}
    return page(attempt.request, "incident.html", context | forms | extra, 409)


async def _again(attempt: Attempt, text: str, status: int) -> HTMLResponse:
    context = await incident_context(attempt.box, attempt.console, attempt.person, attempt.incident_id)
    if context is None:
        return not_found(attempt.request, attempt.person, attempt.incident_id)
    sent = attempt.fields.get("revision", "")
    forms = form_context(attempt.person, int(sent) if sent.isdigit() else context["incident"].revision, attempt.fields)
    extra: dict[str, Any] = {"notice": text, "prefill": {attempt.action: attempt.fields}}
    return page(attempt.request, "incident.html", context | forms | extra, status)
