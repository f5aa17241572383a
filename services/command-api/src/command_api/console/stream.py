"""GET /console/stream: the API's live stream (/v1/stream's events, ids and resume) for the signed-in person.

A browser's EventSource cannot send a bearer token, so the console's pages follow the same `LiveStream` with
the session cookie instead; the browser resumes a dropped connection with Last-Event-ID, and `after` lets the
page's script resume one it had to reopen itself.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response, StreamingResponse

from command_api.console.identity import ConfigDep, SignedIn, person_of
from command_api.console.web import ConsoleRoute
from command_api.stream_query import LiveStream, StreamFilter

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)
RECHECK_S = 1.0  # how often a long-lived stream checks that its session still holds


@router.get("/stream")
async def console_stream(
    request: Request,
    person: SignedIn,
    console: ConfigDep,
    incident: UUID | None = None,
    after: Annotated[int | None, Query(ge=0)] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=30)] = None,
) -> Response:
    live: LiveStream = request.app.state.live_stream
    start = int(last_event_id) if last_event_id is not None and last_event_id.isdigit() else after
    position = start if start is not None else await live.position()
    return StreamingResponse(
        while_signed_in(live.follow(StreamFilter(incident), position), lambda: person_of(console, person.secret)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def while_signed_in(
    events: AsyncIterator[str], still: Callable[[], Awaitable[object]], every_s: float = RECHECK_S
) -> AsyncIterator[str]:
    """The events while the session lasts: re-checked at most every `every_s` as events or keep-alives pass, so
    an ended session's stream closes (and the page's reconnection learns it must sign in again)."""
    clock = asyncio.get_running_loop().time
    checked = clock()
    async for chunk in events:
        if clock() - checked >= every_s:
            if await still() is None:
                return
            checked = clock()
        yield chunk
