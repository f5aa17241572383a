"""POST /console/incidents/{id}/{action}: the incident page's forms, run by the API's command service as the
signed-in person, with If-Match from the revision the form was rendered at.

A conflict (someone changed the incident since) is never retried silently: the page shows what changed and
offers the person's own input again, based on the new revision.
"""

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
from incidents_shared.domain.errors import VersionConflict

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)
FORM_ONLY = {CSRF_FIELD, "revision", "key"}  # fields of the form, not of the command


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
    fields = await form_fields(request)
    if cls is None:
        return not_found(request, person, incident_id)
    revision = fields.get("revision", "")
    body = {k: v for k, v in fields.items() if k not in FORM_ONLY and v.strip()}
    try:
        command = cls.model_validate(body)
    except ValidationError as exc:
        field = ".".join(str(p) for p in exc.errors()[0]["loc"]) or "body"
        return await _again(
            request, box, console, person, incident_id, action, fields, f"Check the field {field}.", 422
        )
    if not revision.isdigit():
        return await _again(
            request, box, console, person, incident_id, action, fields, "The form lost its revision.", 422
        )
    key = fields.get("key") or None
    ask = CommandRequest(person.principal, incident_id, command, correlation, int(revision), key and key[:200])
    outcome = await box.commands.execute(ask)
    log.info("console_action", action=action, incident_id=str(incident_id), outcome=type(outcome).__name__)
    return await _answer(request, box, console, person, incident_id, action, fields, outcome)


async def _answer(
    request: Request,
    box: Container,
    console: ConsoleConfig,
    person: Person,
    incident_id: UUID,
    action: str,
    fields: dict[str, str],
    outcome: CommandOutcome,
) -> Response:
    if isinstance(outcome, Accepted | Replayed):
        return RedirectResponse(f"/console/incidents/{incident_id}", status_code=303)
    if isinstance(outcome, Pending):
        text = "The log took it; its verdict is not in yet. The page updates when it is."
        return await _again(request, box, console, person, incident_id, action, {}, text, 202)
    if _is_conflict(outcome):
        return await _conflict(request, box, console, person, incident_id, action, fields)
    reason = str(outcome.error) if isinstance(outcome, Refused) else getattr(outcome, "reason", None)
    text = f"Not done: {reason or 'the incident does not allow it now'}."
    return await _again(request, box, console, person, incident_id, action, fields, text, 409)


def _is_conflict(outcome: CommandOutcome) -> bool:
    if isinstance(outcome, Rejected):
        return outcome.conflict
    return isinstance(outcome, Refused) and isinstance(outcome.error, VersionConflict)


async def _conflict(
    request: Request,
    box: Container,
    console: ConsoleConfig,
    person: Person,
    incident_id: UUID,
    action: str,
    fields: dict[str, str],
) -> HTMLResponse:
    context = await incident_context(box, console, person, incident_id)
    if context is None:
        return not_found(request, person, incident_id)
    base = int(fields.get("revision", "0") or 0)
    changed = views.changed_since(context["events"], base, context["names"])
    forms = form_context(person, context["incident"].revision)
    conflict = {"action": action, "changed": changed, "base": base}
    return page(request, "incident.html", context | forms | {"conflict": conflict, "prefill": {action: fields}}, 409)


async def _again(
    request: Request,
    box: Container,
    console: ConsoleConfig,
    person: Person,
    incident_id: UUID,
    action: str,
    fields: dict[str, str],
    text: str,
    status: int,
) -> HTMLResponse:
    context = await incident_context(box, console, person, incident_id)
    if context is None:
        return not_found(request, person, incident_id)
    forms = form_context(
        person, int(fields["revision"]) if fields.get("revision", "").isdigit() else context["incident"].revision
    )
    extra: dict[str, Any] = {"notice": text, "prefill": {action: fields}}
    return page(request, "incident.html", context | forms | extra, status)
