"""A local webhook receiver for the escalator's notifications: records every request it gets."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass(frozen=True)
class Received:
    path: str
    idempotency_key: str
    body: dict[str, Any]
    at: datetime


@dataclass
class Receiver:
    requests: list[Received] = field(default_factory=list)
    hang: set[str] = field(default_factory=set)  # paths that play dead: never answer (until released)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def about(self, incident_id: str) -> list[Received]:
        """Requests about one incident (generic bodies carry its id; Slack texts carry its title)."""
        return [r for r in self.requests if r.body.get("incident_id") == incident_id or incident_id in str(r.body)]

    def for_title(self, title: str) -> list[Received]:
        return [r for r in self.requests if title in str(r.body)]


@contextlib.asynccontextmanager
async def running_receiver(port: int) -> AsyncIterator[Receiver]:
    receiver = Receiver()

    async def hook(request: Request) -> JSONResponse:
        body = await request.json()
        key = request.headers.get("idempotency-key", "")
        receiver.requests.append(Received(request.url.path, key, body, datetime.now(UTC)))
        if request.url.path in receiver.hang:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(receiver.release.wait(), 60)
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/hooks/{name}", hook, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    task = asyncio.create_task(server.serve())
    for _ in range(200):  # up to 10 s to bind
        if server.started:
            break
        await asyncio.sleep(0.05)
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.should_exit = True
        await task
