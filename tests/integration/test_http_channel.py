"""The HTTP channel against a real local receiver and the machine's real resolver (decision 0079): it connects to
an address it resolved with the name in Host, follows no redirect, and retries only what a retry can fix."""

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from escalator.channels import SENT, SendResult
from escalator.http_channel import HttpChannel
from escalator.targets import Allowances
from incidents_shared.domain.escalation.destinations import ChannelRef
from incidents_shared.domain.escalation.policy import ChannelKind
from incidents_shared.domain.escalation.recipients import Delivery

ALLOWED = Allowances(private=True, http=True)


@dataclass
class Seen:
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # (path, Host, Idempotency-Key)


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def receiving() -> AsyncIterator[tuple[int, Seen]]:
    seen, port = Seen(), _port()

    async def hook(request: Request) -> Response:
        name = request.path_params["name"]
        seen.requests.append((request.url.path, request.headers["host"], request.headers.get("idempotency-key", "")))
        if name == "moved":
            return RedirectResponse(f"http://127.0.0.1:{port}/hooks/elsewhere", status_code=302)
        if name.isdigit():
            return Response(status_code=int(name))
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/hooks/{name}", hook, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.05)
    try:
        yield port, seen
    finally:
        server.should_exit = True
        await task


def _delivery() -> Delivery:
    return Delivery(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), 0, "hook", ChannelKind.WEBHOOK, ChannelRef("hook"),
                    "ops", {"message": "hello"})  # fmt: skip


async def test_it_connects_to_a_resolved_address_with_the_name_in_host() -> None:
    async with receiving() as (port, seen), httpx.AsyncClient() as http:
        delivery = _delivery()
        # localhost may resolve to ::1 first, where nothing listens: the next address is tried
        result = await HttpChannel(http, ALLOWED, timeout_s=5).send(delivery, f"http://localhost:{port}/hooks/a")
    assert result == SENT
    assert seen.requests == [("/hooks/a", f"localhost:{port}", str(delivery.delivery_id))]


async def test_guarded_a_name_resolving_to_loopback_is_refused_before_connecting() -> None:
    async with receiving() as (port, seen), httpx.AsyncClient() as http:
        guarded = HttpChannel(http, Allowances(private=False, http=True), timeout_s=5)
        result = await guarded.send(_delivery(), f"http://localhost:{port}/hooks/secret-part")
    assert result.permanent and result.error is not None and "loopback" in result.error
    assert "secret-part" not in result.error and seen.requests == []


async def test_redirects_are_not_followed_and_only_worthwhile_answers_are_retried() -> None:
    async with receiving() as (port, seen), httpx.AsyncClient() as http:
        channel = HttpChannel(http, ALLOWED, timeout_s=5)
        results = {name: await channel.send(_delivery(), f"http://127.0.0.1:{port}/hooks/{name}")
                   for name in ("moved", "404", "410", "429", "503")}  # fmt: skip
    assert [path for path, _, _ in seen.requests] == [f"/hooks/{n}" for n in ("moved", "404", "410", "429", "503")]
    assert results["moved"].permanent and "redirect" in str(results["moved"].error)
    assert results["404"].permanent and results["410"].permanent
    assert results["429"] == SendResult("HTTP 429") and results["503"] == SendResult("HTTP 503"), "temporary"


async def test_nothing_listening_is_a_temporary_failure_naming_scheme_and_host_only() -> None:
    async with httpx.AsyncClient() as http:
        result = await HttpChannel(http, ALLOWED, timeout_s=5).send(_delivery(), f"http://127.0.0.1:{_port()}/T0/x")
    assert result.error is not None and not result.permanent
    assert result.error.startswith("http://127.0.0.1:") and "/T0/x" not in result.error
