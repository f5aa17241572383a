"""Heartbeat routes (docs/decisions/0076): `POST /v1/heartbeats/{name}` registers or replaces one, `DELETE`
removes it (managers; directory changes), `GET /v1/heartbeats[/{name}]` shows the last ping, the state (up, late,
down) and the open incident, and `POST /v1/heartbeats/{name}/ping` is the job saying it ran (integration tokens).

A ping is POST only: GET must stay safe (link previews, crawlers and prefetchers follow GETs), and curl from cron
posts as easily as it gets (`curl -fsS -X POST ...`).
"""

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Response
from fastapi import Request as HttpRequest
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from command_api.auth import Principal
from command_api.deps import ContainerDep, CorrelationId, IdempotencyKey, IfMatch, parse_if_match, require
from command_api.directory_service import DirectoryRequest
from command_api.heartbeat_service import HeartbeatService, HeartbeatView, UnknownHeartbeat
from command_api.problems import Problem
from command_api.routes.directory_http import (
    ANSWERS,
    DELETED,
    READ_ANSWERS,
    DirectoryDep,
    Reader,
    Render,
    answer_change,
    build,
    deleted,
    may_ever,
    stored,
)
from incidents_shared.directory_log.judge import DirectoryVerdict
from incidents_shared.domain.authorization import INTEGRATIONS
from incidents_shared.domain.directory import noise
from incidents_shared.domain.directory.heartbeat import Grace, Heartbeat, Interval
from incidents_shared.domain.enums import Priority
from incidents_shared.domain.heartbeats import Health
from incidents_shared.domain.payloads import Name
from incidents_shared.domain.text import StorableModel
from incidents_shared.domain.timeutil import UtcDateTime

router = APIRouter(prefix="/v1/heartbeats", tags=["heartbeats"])
Manager = may_ever(noise.RegisterHeartbeat)
Pinger = Annotated[Principal, Depends(require(INTEGRATIONS))]


class HeartbeatBody(StorableModel):
    """Durations as ISO 8601 (`PT10S`), short (`10s`, `5m`, `1h`, `2d`) or seconds."""

    interval: Annotated[Interval, Field(description="how often the job pings (5 s to 31 days)")]
    grace: Annotated[Grace, Field(description="how late a ping may be before the heartbeat is down")]
    service: Name
    priority: Priority = Priority.P3


class IncidentShown(BaseModel):
    incident_id: str
    status: str
    priority: str | None


class HeartbeatShown(BaseModel):
    """A heartbeat now: `state` up (pinged within its interval), late (within its grace) or down (an outage: its
    incident is `incident` while open). A heartbeat never pinged counts from its registration."""

    name: str
    interval: timedelta
    grace: timedelta
    service: str
    priority: Priority
    registered_at: UtcDateTime
    last_ping_at: UtcDateTime | None
    pings: int
    state: Health
    due_at: UtcDateTime
    down_at: UtcDateTime
    incident: IncidentShown | None


class HeartbeatList(BaseModel):
    heartbeats: list[HeartbeatShown]


def shown(view: HeartbeatView) -> dict[str, Any]:
    beat, read, incident = view.heartbeat, view.reading, view.incident
    open_incident = None
    if incident is not None:
        priority = incident.priority.value if incident.priority else None
        open_incident = {
            "incident_id": str(incident.incident_id),
            "status": incident.status.value,
            "priority": priority,
        }
    document = HeartbeatShown(
        **beat.model_dump(exclude={"registered_at"}),
        registered_at=beat.registered_at or read.since,
        last_ping_at=view.ping.last_ping_at if view.ping else None,
        pings=view.ping.pings if view.ping else 0,
        state=read.health,
        due_at=read.due_at,
        down_at=read.down_at,
        incident=IncidentShown.model_validate(open_incident) if open_incident else None,
    )
    return document.model_dump(mode="json")


async def heartbeat_service(box: ContainerDep) -> HeartbeatService:
    if box.heartbeats is None:
        raise Problem(503, "heartbeats-unavailable", "Heartbeats are not loaded", headers={"Retry-After": "5"})
    return box.heartbeats


HeartbeatsDep = Annotated[HeartbeatService, Depends(heartbeat_service)]


async def _view(service: HeartbeatService, name: str, ping: bool = False) -> HeartbeatView:
    try:
        return await (service.ping(name) if ping else service.view(name))
    except UnknownHeartbeat:
        raise Problem(404, "not-found", "No such heartbeat", f"no heartbeat {name!r} is registered") from None


def _registered(created: bool) -> Render:
    def render(verdict: DirectoryVerdict, ours: bool) -> Response:
        beat = stored(verdict, Heartbeat)
        headers = {"ETag": f'"{verdict.revision}"', "Location": f"/v1/heartbeats/{beat.name}"}
        return JSONResponse(beat.model_dump(mode="json"), 201 if created else 200, headers)

    return render


@router.post("/{name}", responses={201: {"model": Heartbeat}, 200: {"model": Heartbeat}, **ANSWERS},
             summary="Register a heartbeat, or replace it")  # fmt: skip
async def register_heartbeat(
    name: str,
    body: Annotated[HeartbeatBody, Body()],
    http: HttpRequest,
    directory: DirectoryDep,
    correlation: CorrelationId,
    principal: Manager,  # type: ignore[valid-type]
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    command = build(lambda given: noise.RegisterHeartbeat(heartbeat=given | {"name": name}), body.model_dump())
    created = name not in directory.directory.state.heartbeats
    req = DirectoryRequest(principal, command, correlation, parse_if_match(if_match), idempotency_key)
    return answer_change(await directory.execute(req), http.url.path, _registered(created))


@router.delete("/{name}", status_code=204, responses={**DELETED, **ANSWERS}, summary="Remove a heartbeat")
async def remove_heartbeat(
    name: str,
    http: HttpRequest,
    directory: DirectoryDep,
    correlation: CorrelationId,
    principal: Manager,  # type: ignore[valid-type]
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    command = build(lambda given: noise.RemoveHeartbeat(name=given), name)
    req = DirectoryRequest(principal, command, correlation, parse_if_match(if_match), idempotency_key)
    return answer_change(await directory.execute(req), http.url.path, deleted)


@router.get("", response_model=HeartbeatList, summary="Every heartbeat, its last ping and state")
async def list_heartbeats(heartbeats: HeartbeatsDep, _: Reader) -> dict[str, Any]:
    return {"heartbeats": [shown(view) for view in await heartbeats.views()]}


@router.get("/{name}", response_model=HeartbeatShown, responses=READ_ANSWERS, summary="One heartbeat")
async def get_heartbeat(name: str, heartbeats: HeartbeatsDep, _: Reader) -> dict[str, Any]:
    return shown(await _view(heartbeats, name))


@router.post("/{name}/ping", response_model=HeartbeatShown, responses=READ_ANSWERS, summary="The job ran: ping")
async def ping_heartbeat(name: str, heartbeats: HeartbeatsDep, _: Pinger) -> dict[str, Any]:
    return shown(await _view(heartbeats, name, ping=True))
