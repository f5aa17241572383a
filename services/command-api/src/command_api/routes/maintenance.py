"""Maintenance window routes (docs/decisions/0076): `POST/GET /v1/maintenance-windows`, `GET/PUT/DELETE
/v1/maintenance-windows/{id}` (DELETE cancels: the window stays, as history). Each change is a directory change
(If-Match, Idempotency-Key, judged at fold time); GET of one lists what it held.
"""

import secrets
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response
from fastapi import Request as HttpRequest
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from command_api.deps import ContainerDep, CorrelationId, IdempotencyKey, IfMatch, parse_if_match
from command_api.directory_service import DirectoryRequest
from command_api.maintenance_hold import HeldLister, HeldRow
from command_api.problems import Problem
from command_api.routes.directory_http import (
    ANSWERS,
    READ_ANSWERS,
    AwareTime,
    DirectoryDep,
    Reader,
    Render,
    answer_change,
    build,
    may_ever,
    stored,
)
from incidents_shared.directory_log.judge import DirectoryVerdict
from incidents_shared.domain.directory import noise
from incidents_shared.domain.directory.maintenance import MaintenanceWindow, Matcher, WindowStatus, WindowTime
from incidents_shared.domain.directory.model import Id, Kind
from incidents_shared.domain.payloads import Name
from incidents_shared.domain.text import StorableModel
from incidents_shared.domain.timeutil import UtcDateTime

router = APIRouter(prefix="/v1/maintenance-windows", tags=["maintenance windows"])
Manager = may_ever(noise.CreateMaintenanceWindow)
HELD_SHOWN = 1_000


class WindowBody(StorableModel):
    """A window as POST and PUT take it: `id` optional on POST (one is made), the path's on PUT."""

    id: Id | None = None
    services: Annotated[list[Name], Field(max_length=50)] = Field(default_factory=list)
    matchers: Annotated[list[Matcher], Field(max_length=20, description="label=value, all must hold")] = Field(
        default_factory=list
    )
    start: WindowTime
    end: WindowTime
    reason: Annotated[str, Field(min_length=1, max_length=2_000)]


class HeldShown(BaseModel):
    """An alert (or Alertmanager group) the window held: its last status, when it came, what its release did."""

    dedup_key: str
    kind: str
    source: str
    service: str
    summary: str
    status: str
    held_since: UtcDateTime
    last_at: UtcDateTime
    received: int
    windows: list[str]
    released_at: UtcDateTime | None
    outcome: str | None
    incident_id: str | None


class WindowShown(MaintenanceWindow):
    status: WindowStatus
    suppressed: list[HeldShown] | None = None


class WindowList(BaseModel):
    windows: list[WindowShown]


def _window(window: MaintenanceWindow, at: datetime, held: list[HeldRow] | None = None) -> dict[str, Any]:
    shown = window.model_dump(mode="json") | {"status": window.status_at(at).value}
    return shown | ({"suppressed": [_held(row) for row in held]} if held is not None else {})


def _held(row: HeldRow) -> dict[str, Any]:
    fields = ("dedup_key", "kind", "source", "service", "summary", "held_since", "last_at", "received", "windows")
    shown = HeldShown.model_validate({name: getattr(row, name) for name in fields} | {
        "status": row.status.value, "released_at": row.released_at, "outcome": row.outcome,
        "incident_id": str(row.incident_id) if row.incident_id else None,
    })  # fmt: skip
    return shown.model_dump(mode="json")


def _shown(created: bool) -> Render:
    def render(verdict: DirectoryVerdict, ours: bool) -> Response:
        window = stored(verdict, MaintenanceWindow)
        headers = {"ETag": f'"{verdict.revision}"'}
        if created:
            headers["Location"] = f"/v1/maintenance-windows/{window.id}"
        return JSONResponse(_window(window, datetime.now(UTC)), 201 if created else 200, headers)

    return render


def _domain(body: WindowBody, window_id: str) -> MaintenanceWindow:
    return MaintenanceWindow.model_validate(body.model_dump() | {"id": window_id})


async def held_alerts(box: ContainerDep) -> HeldLister:
    if box.held_alerts is None:
        raise Problem(
            503, "maintenance-unavailable", "Maintenance windows are not loaded", headers={"Retry-After": "5"}
        )
    return box.held_alerts


HeldDep = Annotated[HeldLister, Depends(held_alerts)]


@router.post("", status_code=201, responses={201: {"model": WindowShown}, **ANSWERS}, summary="Create a window")
async def create_window(
    body: Annotated[WindowBody, Body()],
    http: HttpRequest,
    directory: DirectoryDep,
    correlation: CorrelationId,
    principal: Manager,  # type: ignore[valid-type]
    idempotency_key: IdempotencyKey = None,
) -> Response:
    window_id = body.id or f"mw-{secrets.token_hex(6)}"
    command = build(lambda given: noise.CreateMaintenanceWindow(window=_domain(given, window_id)), body)
    # The client's body, not the made-up id, is what makes a retry with the same key the same request.
    req = DirectoryRequest(principal, command, correlation, None, idempotency_key, body.model_dump(mode="json"))
    return answer_change(await directory.execute(req), http.url.path, _shown(created=True))


@router.get("", response_model=WindowList, responses=READ_ANSWERS, summary="Every window, history included")
async def list_windows(
    directory: DirectoryDep,
    _: Reader,
    status: Annotated[WindowStatus | None, Query(description="only windows in this status at `as_of`")] = None,
    as_of: Annotated[
        AwareTime | None, Query(description="RFC 3339 with offset: the windows as they stood then")
    ] = None,
) -> dict[str, Any]:
    at = as_of or datetime.now(UTC)
    state = directory.directory.state if as_of is None else directory.directory.as_of(as_of)
    windows = sorted(state.windows.values(), key=lambda w: (w.start, w.id))
    return {"windows": [_window(w, at) for w in windows if status is None or w.status_at(at) is status]}


@router.get(
    "/{window_id}", responses={200: {"model": WindowShown}, **READ_ANSWERS}, summary="One window, and what it held"
)
async def get_window(window_id: str, directory: DirectoryDep, held: HeldDep, _: Reader) -> Response:
    state = directory.directory.state
    window = state.windows.get(window_id)
    if window is None:
        raise Problem(404, "not-found", "No such maintenance window", f"no maintenance window {window_id!r}")
    shown = _window(window, datetime.now(UTC), await held.of_window(window_id, HELD_SHOWN))
    return JSONResponse(shown, headers={"ETag": f'"{state.revision(Kind.MAINTENANCE_WINDOW, window_id)}"'})


@router.put("/{window_id}", responses={200: {"model": WindowShown}, **ANSWERS}, summary="Replace a window")
async def replace_window(
    window_id: str,
    body: Annotated[WindowBody, Body()],
    http: HttpRequest,
    directory: DirectoryDep,
    correlation: CorrelationId,
    principal: Manager,  # type: ignore[valid-type]
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    if body.id is not None and body.id != window_id:
        raise Problem(422, "id-mismatch", "The body's id is not the path's", "id: must be the path's", field="id")
    command = build(lambda given: noise.UpdateMaintenanceWindow(window=_domain(given, window_id)), body)
    req = DirectoryRequest(principal, command, correlation, parse_if_match(if_match), idempotency_key)
    return answer_change(await directory.execute(req), http.url.path, _shown(created=False))


@router.delete(
    "/{window_id}", responses={200: {"model": WindowShown}, **ANSWERS}, summary="Cancel a window (kept as history)"
)
async def cancel_window(
    window_id: str,
    http: HttpRequest,
    directory: DirectoryDep,
    correlation: CorrelationId,
    principal: Manager,  # type: ignore[valid-type]
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    command = build(lambda given: noise.CancelMaintenanceWindow(id=given), window_id)
    req = DirectoryRequest(principal, command, correlation, parse_if_match(if_match), idempotency_key)
    return answer_change(await directory.execute(req), http.url.path, _shown(created=False))
