"""Query routes: incidents, timelines and verdicts from the read models."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from command_api.auth import Principal
from command_api.deps import ContainerDep, require
from command_api.problems import Problem
from incidents_shared.domain.authorization import READERS
from incidents_shared.domain.enums import Priority, Role, Status

router = APIRouter(prefix="/v1", tags=["queries"])
Reader = Annotated[Principal, Depends(require(READERS))]
AnyCaller = Annotated[Principal, Depends(require(frozenset(Role)))]


def _not_found(incident_id: UUID) -> Problem:
    return Problem(404, "not-found", "Incident not found", f"no incident {incident_id}")


@router.get("/incidents/{incident_id}", summary="The incident's current state")
async def get_incident(incident_id: UUID, box: ContainerDep, _: Reader) -> JSONResponse:
    state = await box.read_model.incident(incident_id)
    if state is None:
        raise _not_found(incident_id)
    return JSONResponse(state.model_dump(mode="json"), headers={"ETag": f'"{state.revision}"'})


@router.get("/incidents/{incident_id}/timeline", summary="Accepted events of the incident, in order")
async def get_timeline(incident_id: UUID, box: ContainerDep, _: Reader) -> dict[str, Any]:
    events = await box.read_model.timeline(incident_id)
    if not events:
        raise _not_found(incident_id)
    return {"incident_id": str(incident_id), "events": events}


@router.get("/events/{event_id}", summary="The verdict on one appended event")
async def get_event_verdict(event_id: UUID, box: ContainerDep, _: AnyCaller) -> JSONResponse:
    verdict = await box.read_model.verdict(event_id)
    if verdict is None:
        return JSONResponse(
            {"event_id": str(event_id), "verdict": "pending"}, status_code=202, headers={"Retry-After": "1"}
        )
    return JSONResponse(verdict.public())


@router.get("/incidents", summary="Incidents, newest first, keyset-paginated")
async def list_incidents(
    box: ContainerDep,
    _: Reader,
    status: Status | None = None,
    priority: Priority | None = None,
    service: Annotated[str | None, Query(max_length=120)] = None,
    team: Annotated[str | None, Query(max_length=120)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    filters = {
        k: v.value if hasattr(v, "value") else v
        for k, v in {"status": status, "priority": priority, "service": service, "team": team}.items()
        if v is not None
    }
    items = await box.read_model.list_incidents(filters, limit, _parse_cursor(cursor))
    next_cursor = f"{items[-1].logged_at.isoformat()}|{items[-1].incident_id}" if len(items) == limit else None
    return {"items": [i.model_dump(mode="json") for i in items], "next_cursor": next_cursor}


def _parse_cursor(cursor: str | None) -> tuple[datetime, UUID] | None:
    if cursor is None:
        return None
    try:
        logged_at, incident_id = cursor.split("|")
        return datetime.fromisoformat(logged_at), UUID(incident_id)
    except ValueError as exc:
        raise Problem(400, "bad-cursor", "The cursor is not one this API gave out") from exc
