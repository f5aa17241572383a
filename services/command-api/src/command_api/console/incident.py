"""GET /console/incidents/{id} (the incident page) and GET .../live (its header and sections, swapped in live)."""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from command_api.console import views
from command_api.console.identity import ConfigDep, ConsoleConfig, Person, SignedIn
from command_api.console.web import ConsoleRoute, page, stream_position
from command_api.deps import Container, ContainerDep
from command_api.routes.commands import ACTIONS
from incidents_shared.domain import directory as d
from incidents_shared.domain.authorization import CUSTOMERS
from incidents_shared.domain.enums import HoldReason, LinkRelation, NoteKind, ResolutionCode
from incidents_shared.domain.state import Incident

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)
MAX_LINKING = 200  # incidents linking to this one that the page lists


@dataclass(frozen=True)
class OnCall:
    """Who is on call now for a team (the resolver behind GET /v1/oncall): `user` None in a gap,
    `schedule` None when the team has none."""

    team: str
    schedule: str | None
    user: str | None
    until: datetime | None


def names(console: ConsoleConfig) -> dict[str, str]:
    return {user.id: user.name for user in console.directory().users.values()}


def on_call(state: d.DirectoryState, team: str | None, now: datetime) -> OnCall | None:
    if team is None or team not in state.teams:
        return None
    answer = d.oncall_for_team(state, team, now)
    schedule = state.teams[team].schedule
    return OnCall(team, schedule, answer.user, answer.until) if answer else OnCall(team, None, None, None)


def catalog(state: d.DirectoryState, incident: Incident) -> dict[str, Any]:
    """The incident's service in the catalog: owner team, runbook (the catalog's, else the incident's own), the
    team on call for it now, and the people and teams the assign form offers."""
    service = state.services.get(incident.service)
    owner = service.owner_team if service else None
    team = incident.team or owner
    members = state.teams[team].members if team in state.teams else []
    return {
        "owner_team": owner,
        "runbook": (service.runbook_url if service else None) or incident.runbook_url,
        "oncall": on_call(state, team, datetime.now(UTC)),
        "team_choices": sorted(state.teams.values(), key=lambda t: t.id),
        "member_choices": [state.users[m] for m in members if m in state.users],
    }


async def linked(box: Container, incident: Incident) -> list[views.LinkShown]:
    """The incident's links both ways: those on its own log, and other incidents' links to it."""
    pool = box.read_model.pool
    others = [str(link.other_incident_id) for link in incident.links]
    rows = await pool.fetch("SELECT state::text FROM incidents WHERE incident_id = ANY($1::uuid[])", others)
    linking = await pool.fetch(
        "SELECT state::text FROM incidents WHERE state->'links' @> $1::jsonb ORDER BY logged_at LIMIT $2",
        [{"other_incident_id": str(incident.incident_id)}],  # the pool encodes jsonb (incidents_shared.db)
        MAX_LINKING,
    )
    found = {str(i.incident_id): i for i in (Incident.model_validate_json(r[0]) for r in rows)}
    return views.links(incident, [Incident.model_validate_json(r[0]) for r in linking], found)


async def incident_context(
    box: Container, console: ConsoleConfig, person: Person, incident_id: UUID
) -> dict[str, Any] | None:
    """What the incident page shows, or None for an unknown incident."""
    state = await box.read_model.incident(incident_id)
    if state is None:
        return None
    events = await box.read_model.latest_events(incident_id, 1_000)  # bounded however long (decision 0091)
    known = names(console)
    return {
        "incident": state,
        "allowed": views.allowed_actions(state, person.principal.role, ACTIONS),
        "timeline": views.timeline(events, known),
        "notes": views.grouped(events, "incident.note_added", "kind", [k.value for k in NoteKind]),
        "updates": views.grouped(events, "incident.stakeholder_update_posted", "audience"),
        "pages": views.pages(events, state.page_links_used, known),
        "links": await linked(box, state),
        "web_link": views.web_link,
        "events": events,
        "names": known,
    } | catalog(console.directory(), state)


def form_context(person: Person, revision: int, fields: dict[str, str] | None = None) -> dict[str, Any]:
    """The action forms' fields: the revision they are based on and a fresh idempotency key per rendering."""
    return {
        "person": person,
        "base_revision": revision,
        "form_key": secrets.token_urlsafe(16),
        "note_kinds": list(NoteKind),
        "resolution_codes": list(ResolutionCode),
        "hold_reasons": list(HoldReason),
        "relations": list(LinkRelation),
        "item_rows": views.item_rows(fields or {}),
        # The update form says beforehand what the authorization table would refuse (decision 0090).
        "tells_customers": person.principal.role in CUSTOMERS.roles,
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
