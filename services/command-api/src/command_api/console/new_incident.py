"""GET/POST /console/incidents/new (log an incident as the signed-in person) and GET .../new/preview (the priority
preview fragment the form swaps in as impact, urgency or service change).

The POST runs the API's command service like every console action, with a fresh idempotency key per rendering
of the form, so a double click or a resent form logs one incident. Bad input shows the form again with the
person's input and the field named (422).
"""

import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from command_api.console.identity import Acting, ConfigDep, ConsoleConfig, Person, SignedIn
from command_api.console.incident_form import FormError, preview, read_form
from command_api.console.sessions import CSRF_FIELD
from command_api.console.web import ConsoleRoute, form_fields, page
from command_api.deps import Container, ContainerDep, CorrelationId
from command_api.outcomes import Accepted, CommandOutcome, KeyReused, Pending, Refused, Rejected, Replayed
from command_api.service import Request as CommandRequest
from incidents_shared.db import Pool
from incidents_shared.domain.authorization import COMMAND_ROLES
from incidents_shared.domain.commands import LogIncident
from incidents_shared.domain.enums import Level
from incidents_shared.domain.escalation.policy import Policy

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)
NEW = "/console/incidents/new"
KEY_MAX = 200
# The escalator records each policy version it loads (migration 0005); the latest one seen is the one in force.
POLICY_IN_FORCE = "SELECT document FROM escalator_policies ORDER BY first_seen_at DESC, version DESC LIMIT 1"


async def policy_in_force(pool: Pool) -> Policy | None:
    """The escalation policy the escalator loaded last, or None when it has recorded none (or it no longer parses)."""
    document = await pool.fetchval(POLICY_IN_FORCE)
    if document is None:
        return None
    try:
        return Policy.model_validate_json(document) if isinstance(document, str) else Policy.model_validate(document)
    except ValidationError:
        log.warning("console_policy_unreadable")
        return None


async def _preview_context(box: Container, console: ConsoleConfig, fields: Mapping[str, str]) -> dict[str, Any]:
    policy = await policy_in_force(box.read_model.pool)
    return {"preview": preview(fields, policy, console.directory().services, datetime.now(UTC))}


async def _form(
    request: Request,
    box: Container,
    console: ConsoleConfig,
    person: Person,
    fields: Mapping[str, str],
    error: FormError | str | None = None,
    status: int = 200,
) -> HTMLResponse:
    services = sorted(console.directory().services.values(), key=lambda s: s.id)
    context = {
        "person": person,
        "values": {k: v for k, v in fields.items() if k != CSRF_FIELD},
        "form_key": secrets.token_urlsafe(16),  # one per rendering: a resent form is the same request
        "levels": list(Level),
        "categories": sorted(box.commands.taxonomy),
        "services": services,
        "error": error,
    }
    return page(request, "new_incident.html", context | await _preview_context(box, console, fields), status)


def _may_not_log(request: Request, person: Person) -> HTMLResponse | None:
    """The page for a person whose role may not log incidents (an auditor only reads), else None."""
    if person.principal.role in COMMAND_ROLES[LogIncident]:
        return None
    text = f"Your role ({person.principal.role.value}) may not log incidents."
    return page(request, "message.html", {"person": person, "title": "Not allowed", "text": text}, 403)


@router.get("/incidents/new")
async def new_incident(request: Request, box: ContainerDep, console: ConfigDep, person: SignedIn) -> HTMLResponse:
    return _may_not_log(request, person) or await _form(request, box, console, person, {})


@router.get("/incidents/new/preview")
async def new_incident_preview(
    request: Request, box: ContainerDep, console: ConfigDep, person: SignedIn
) -> HTMLResponse:
    fields = {k: request.query_params.get(k, "")[:200] for k in ("impact", "urgency", "service")}
    return page(request, "new_incident_preview.html", await _preview_context(box, console, fields))


@router.post("/incidents/new")
async def log_new_incident(
    request: Request, box: ContainerDep, console: ConfigDep, person: Acting, correlation: CorrelationId
) -> Response:
    if (refused := _may_not_log(request, person)) is not None:
        return refused
    fields = await form_fields(request)
    command = read_form(fields, box.commands.taxonomy)
    if isinstance(command, FormError):
        return await _form(request, box, console, person, fields, command, 422)
    key = (fields.get("key") or "")[:KEY_MAX] or None
    outcome = await box.commands.execute(CommandRequest(person.principal, None, command, correlation, None, key))
    log.info("console_incident_logged", outcome=type(outcome).__name__)
    return await _answer(request, box, console, person, fields, outcome)


async def _answer(
    request: Request,
    box: Container,
    console: ConsoleConfig,
    person: Person,
    fields: Mapping[str, str],
    outcome: CommandOutcome,
) -> Response:
    if isinstance(outcome, Accepted):
        return RedirectResponse(f"/console/incidents/{outcome.incident_id}", status_code=303)
    if isinstance(outcome, Replayed) and isinstance(outcome.answer.document, dict):
        return RedirectResponse(f"/console/incidents/{outcome.answer.document['incident_id']}", status_code=303)
    if isinstance(outcome, Pending):
        text = "The log took the incident; its verdict is not in yet. It appears in the queue when it is."
        context = {"person": person, "title": "Logged, not confirmed yet", "text": text}
        return page(request, "message.html", context, 202)
    if isinstance(outcome, KeyReused):
        return await _form(request, box, console, person, fields, "This form was sent before with other input.", 422)
    return await _form(request, box, console, person, fields, _refusal(outcome), 422)


def _refusal(outcome: Refused | Rejected | Replayed) -> str:
    if isinstance(outcome, Refused):
        return f"Not logged: {outcome.error}."
    return f"Not logged: {getattr(outcome, 'reason', None) or 'the log refused it'}."
