"""GET /v1/stream: accepted events as server-sent events, resumable with Last-Event-ID."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from command_api.auth import Principal
from command_api.deps import require
from command_api.params import StreamPosition, ascii_int
from command_api.problems import Problem
from command_api.stream_limits import StreamLimits, leased
from command_api.stream_query import LiveStream, StreamFilter
from incidents_shared.domain.authorization import READERS
from incidents_shared.domain.enums import Priority

router = APIRouter(prefix="/v1", tags=["stream"])
Reader = Annotated[Principal, Depends(require(READERS))]


@router.get(
    "/stream",
    summary="Accepted events as server-sent events; `id:` is a global position, resume with Last-Event-ID",
    response_class=StreamingResponse,
    description="At most `INCIDENTS_STREAM_MAX_PER_PRINCIPAL` open streams per principal (429 beyond) and "
    "`INCIDENTS_STREAM_MAX_PER_INSTANCE` per API process (503 beyond), both with Retry-After.",
)
async def stream(
    request: Request,
    principal: Reader,
    incident: UUID | None = None,
    priority: Annotated[Priority | None, Query(description="the incident's current priority")] = None,
    event_type: Annotated[list[str] | None, Query(alias="type", max_length=100)] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    after: Annotated[
        StreamPosition | None, Query(description="like Last-Event-ID, for clients that cannot set it")
    ] = None,
) -> StreamingResponse:
    start = _start(last_event_id, after)
    live: LiveStream = request.app.state.live_stream
    limits: StreamLimits = request.app.state.stream_limits
    position = start if start is not None else await live.position()
    where = StreamFilter(incident, priority.value if priority else None, event_type or [])
    lease = limits.acquire(principal.id)  # 429 over the principal's share, 503 when this instance is full
    return StreamingResponse(
        leased(live.follow(where, position), lease),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _start(last_event_id: str | None, after: int | None) -> int | None:
    if last_event_id is None:
        return after
    position = ascii_int(last_event_id)
    if position is None:
        raise Problem(400, "bad-last-event-id", "Last-Event-ID must be an id this stream sent")
    return position
