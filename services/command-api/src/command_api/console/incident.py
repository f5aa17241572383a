"""GET /console/incidents/{id} (the incident page) and GET .../live (its header and timeline, swapped in live)."""

import secrets
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from command_api.console import views
from command_api.console.identity import ConfigDep, ConsoleConfig, Person, SignedIn
from command_api.console.web import ConsoleRoute, page, stream_position
from command_api.deps import Container, ContainerDep
from command_api.routes.commands import ACTIONS
from incidents_shared.domain.enums import HoldReason, NoteKind, ResolutionCode

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)


def names(console: ConsoleConfig) -> dict[str, str]:
    return {user.id: user.name for user in console.directory().users.values()}


async def incident_context(
    box: Container, console: ConsoleConfig, person: Person, incident_id: UUID
) -> dict[str, Any] | None:
    """What the incident page shows, or None for an unknown incident."""
    state = await box.read_model.incident(incident_id)
    if state is None:
        return None
    events = await box.read_model.timeline(incident_id)
    known = names(console)
    return {
        "incident": state,
        "allowed": views.allowed_actions(state, person.principal.role, ACTIONS),
        "timeline": views.timeline(events, known),
        "notes": views.of_type(events, "incident.note_added"),
        "updates": views.of_type(events, "incident.stakeholder_update_posted"),
        "events": events,
        "names": known,
    }


def form_context(person: Person, revision: int) -> dict[str, Any]:
    """The action forms' fields: the revision they are based on and a fresh idempotency key per rendering."""
    return {
        "person": person,
        "base_revision": revision,
        "form_key": secrets.token_urlsafe(16),
        "note_kinds": list(NoteKind),
        "resolution_codes": list(ResolutionCode),
        "hold_reasons": list(HoldReason),
    }


def not_found(request: Request, person: Person, incident_id: UUID) -> HTMLResponse:
    return page(
        request, "message.html", {"person": person, "title": "Not found", "text": f"No incident {incident_id}."}, 404
    )


@router.get("/incidents/{incident_id}")
async def incident_page(
    incident_id: UUID, request: Request, box: ContainerDep, console: ConfigDep, person: SignedIn
) -> HTMLResponse:
    position = await stream_position(request)
    context = await incident_context(box, console, person, incident_id)
    if context is None:
        return not_found(request, person, incident_id)
    forms = form_context(person, context["incident"].revision)
    return page(request, "incident.html", context | forms | {"prefill": {}, "stream_after": position})


@router.get("/incidents/{incident_id}/live")
async def incident_live(
    incident_id: UUID, request: Request, box: ContainerDep, console: ConfigDep, person: SignedIn
) -> HTMLResponse:
    context = await incident_context(box, console, person, incident_id)
    if context is None:
        return not_found(request, person, incident_id)
    return page(request, "incident_live.html", context | {"person": person})
