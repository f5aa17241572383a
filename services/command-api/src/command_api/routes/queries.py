"""Query routes: incidents, timelines and verdicts from the read models."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from command_api.auth import Principal
from command_api.deps import Container, ContainerDep, require
from command_api.history_query import audit, fold_until
from command_api.incident_query import BadCursor, Cursor, IncidentQuery, Sort
from command_api.params import MAX_LABEL_FILTERS, LabelFilter, QueryTime, label_filter
from command_api.problems import Problem
from incidents_shared.domain.authorization import AUDITORS, READERS, VERDICT, read_refusal
from incidents_shared.domain.codec import GENESIS_HASH
from incidents_shared.domain.enums import Priority, Role, Status

router = APIRouter(prefix="/v1", tags=["queries"])
Reader = Annotated[Principal, Depends(require(READERS))]
Auditor = Annotated[Principal, Depends(require(AUDITORS))]
AnyCaller = Annotated[Principal, Depends(require(frozenset(Role)))]


def _not_found(incident_id: UUID) -> Problem:
    return Problem(404, "not-found", "Incident not found", f"no incident {incident_id}")


@router.get("/incidents/{incident_id}", summary="The incident's current state, or as it stood at `as_of`")
async def get_incident(
    incident_id: UUID,
    box: ContainerDep,
    _: Reader,
    as_of: Annotated[QueryTime | None, Query(description="RFC 3339 time with offset: reconstruct from events")] = None,
) -> JSONResponse:
    if as_of is not None:
        return await _as_of(box, incident_id, as_of)
    state = await box.read_model.incident(incident_id)
    if state is None:
        raise _not_found(incident_id)
    return JSONResponse(state.model_dump(mode="json"), headers={"ETag": f'"{state.revision}"'})


async def _as_of(box: Container, incident_id: UUID, as_of: datetime) -> JSONResponse:
    if as_of.tzinfo is None:
        raise Problem(400, "bad-as-of", "as_of needs a UTC offset", "e.g. 2026-11-27T10:00:00Z")
    state, after, stopped = None, 0, False
    while not stopped:  # a chunk at a time: memory bounded however many events (docs/decisions/0091)
        chunk = await box.read_model.stored_events(incident_id, after, AS_OF_CHUNK)
        if not chunk and after == 0:
            raise _not_found(incident_id)
        state, stopped = fold_until(state, chunk, as_of)
        stopped = stopped or len(chunk) < AS_OF_CHUNK
        after = chunk[-1].version if chunk else after
    if state is None:
        raise Problem(404, "not-yet-logged", "The incident did not exist yet", f"first event after {as_of.isoformat()}")
    return JSONResponse(state.model_dump(mode="json"), headers={"Cache-Control": "max-age=60"})


# Long reads come in pages (docs/decisions/0091): `after` is the version of the last event of the previous page,
# the answer's `next` (and its Link header) the URL of the page after this one, null on the last.
PAGE_DEFAULT, PAGE_MAX = 500, 1_000
AS_OF_CHUNK = 1_000
VERSION_MAX = 2**31 - 1  # incident_events.version is an integer column
After = Annotated[int, Query(ge=0, le=VERSION_MAX, description="the version the previous page ended at")]
Limit = Annotated[int, Query(ge=1, le=PAGE_MAX, description=f"events per page (default {PAGE_DEFAULT})")]


def _next_page(request: Request, response: Response, versions: list[int], limit: int) -> str | None:
    """The next page's URL when this one is full (set as the Link header too), else None."""
    if len(versions) < limit:
        return None
    url = f"{request.url.path}?after={versions[-1]}&limit={limit}"
    response.headers["Link"] = f'<{url}>; rel="next"'
    return url


async def _require_incident(box: Container, incident_id: UUID, after: int) -> None:
    """An empty page is a 404 only when there is no such incident."""
    if after == 0 or await box.read_model.incident(incident_id) is None:
        raise _not_found(incident_id)


@router.get("/incidents/{incident_id}/audit", summary="Accepted events with their hashes; does the chain verify?")
async def get_audit(
    incident_id: UUID,
    box: ContainerDep,
    _: Auditor,
    request: Request,
    response: Response,
    after: After = 0,
    limit: Limit = PAGE_DEFAULT,
) -> dict[str, Any]:
    """`verified`: every link of this page verifies, its first against the last event of the page before."""
    events = await box.read_model.stored_events(incident_id, after, limit)
    if not events:
        await _require_incident(box, incident_id, after)
    prev = GENESIS_HASH if after == 0 else await box.read_model.event_hash(incident_id, after)
    checked = audit(events, prev or "")
    return {
        "incident_id": str(incident_id),
        **checked,
        "next": _next_page(request, response, [e.version for e in events], limit),
    }


@router.get("/incidents/{incident_id}/timeline", summary="Accepted events of the incident, in order, a page at a time")
async def get_timeline(
    incident_id: UUID,
    box: ContainerDep,
    _: Reader,
    request: Request,
    response: Response,
    after: After = 0,
    limit: Limit = PAGE_DEFAULT,
) -> dict[str, Any]:
    events = await box.read_model.timeline(incident_id, after, limit)
    if not events:
        await _require_incident(box, incident_id, after)
    next_url = _next_page(request, response, [e["version"] for e in events], limit)
    return {"incident_id": str(incident_id), "events": events, "next": next_url}


@router.get(
    "/events/{event_id}",
    summary="The verdict on one appended event",
    responses={202: {"description": "Not judged yet; ask again after Retry-After"}},
)
async def get_event_verdict(event_id: UUID, box: ContainerDep, caller: AnyCaller) -> JSONResponse:
    verdict = await box.read_model.verdict(event_id)
    if verdict is None:
        return JSONResponse(
            {"event_id": str(event_id), "verdict": "pending"}, status_code=202, headers={"Retry-After": "1"}
        )
    if (refusal := read_refusal(VERDICT, caller.role, caller.id, verdict.actor_id)) is not None:
        raise Problem(403, "forbidden", "You may not read this", refusal.detail, rule=refusal.rule)
    return JSONResponse(verdict.public())


LABEL_HELP = (
    "name:value, e.g. alertname:HighErrorRate; repeat it for more (all must match). Each is found on the"
    " incident's labels or on those of an alert it recorded."
)


@router.get("/incidents", summary="Incidents: filters, full-text search, sorts, keyset pagination")
async def list_incidents(
    box: ContainerDep,
    _: Reader,
    status: Status | None = None,
    priority: Priority | None = None,
    category: Annotated[str | None, Query(max_length=120)] = None,
    team: Annotated[str | None, Query(max_length=120)] = None,
    assignee: Annotated[str | None, Query(max_length=120)] = None,
    service: Annotated[str | None, Query(max_length=120)] = None,
    breached: bool | None = None,
    created_from: Annotated[QueryTime | None, Query(description="logged at or after (RFC 3339)")] = None,
    created_to: Annotated[QueryTime | None, Query(description="logged before (RFC 3339)")] = None,
    q: Annotated[str | None, Query(max_length=500, description="full text over title, description, notes")] = None,
    label: Annotated[list[LabelFilter] | None, Query(max_length=MAX_LABEL_FILTERS, description=LABEL_HELP)] = None,
    sort: Sort = Sort.LOGGED_DESC,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> dict[str, Any]:
    for name, stamp in (("created_from", created_from), ("created_to", created_to)):
        if stamp is not None and stamp.tzinfo is None:
            raise Problem(400, "bad-time", f"{name} needs a UTC offset", "e.g. 2026-11-27T10:00:00Z")
    equals = {"status": status, "priority": priority, "category": category, "team": team}
    equals |= {"assignee": assignee, "service": service}
    query = IncidentQuery(
        equals={k: v.value if isinstance(v, StrEnum) else v for k, v in equals.items() if v is not None},
        q=q,
        labels=tuple(label_filter(text) for text in label or ()),
        breached=breached,
        created_from=created_from,
        created_to=created_to,
        sort=sort,
        after=_parse_cursor(cursor, sort),
        limit=limit,
    )
    items, after = await box.read_model.list_incidents(query)
    return {"items": [i.model_dump(mode="json") for i in items], "next_cursor": after.encode() if after else None}


def _parse_cursor(cursor: str | None, sort: Sort) -> Cursor | None:
    if cursor is None:
        return None
    try:
        return Cursor.decode(cursor, sort)
    except BadCursor as exc:
        raise Problem(400, "bad-cursor", "The cursor is not one this API gave out", str(exc)) from exc
