"""ASGI middleware: body size limit (413), correlation ids, one canonical log line and metrics per request."""

import json
import time
import uuid
from urllib.parse import unquote_to_bytes

import structlog
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from command_api.params import correlation_id_error

log = structlog.get_logger("command_api.access")
SECRET_PATHS = ("/v1/page-links/",)  # the rest of such a path is a credential (a signed page link)


def _loggable(path: str) -> str:
    """The path for the access log, with a credential in it cut off."""
    for prefix in SECRET_PATHS:
        if path.startswith(prefix):
            return prefix + "…"
    return path


REQUESTS = Counter("api_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("api_request_seconds", "HTTP request latency", ["method", "route"])
CORRELATION_HEADER = b"x-correlation-id"
DRAIN_LIMIT_FACTOR = 10  # beyond 10x the limit we stop reading and let the connection drop


class BodyLimit:
    """Refuses bodies over `max_bytes`, by Content-Length or while a chunked body streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            drained = await _drain(receive, DRAIN_LIMIT_FACTOR * self.max_bytes)
            await _too_large(send, self.max_bytes, close=not drained)
            return
        received = 0
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request" and not refused:
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    refused = True
                    drained = not message.get("more_body", False) or await _drain(
                        receive, DRAIN_LIMIT_FACTOR * self.max_bytes
                    )
                    await _too_large(send, self.max_bytes, close=not drained)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:  # once 413 is sent, whatever the app answers is dropped
                await send(message)

        await self.app(scope, limited_receive, guarded_send)


async def _drain(receive: Receive, limit: int) -> bool:
    """Read and discard a refused body (up to `limit` bytes) before answering, so the client reads our 413
    instead of a connection reset while it is still sending. False when we gave up and must close."""
    drained = 0
    while drained <= limit:
        message = await receive()
        if message["type"] != "http.request":
            return False
        if not message.get("more_body", False):
            return True
        drained += len(message.get("body", b""))
    return False


class CleanUrl:
    """Refuses a path or query string the database could not take (NUL, invalid UTF-8): 400, not a 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not _clean(scope.get("raw_path") or b"", scope.get("query_string", b"")):
            await _problem(send, 400, "bad-url", "The URL contains NUL characters or invalid UTF-8")
            return
        await self.app(scope, receive, send)


def _clean(*parts: bytes) -> bool:
    for part in parts:
        raw = unquote_to_bytes(part.replace(b"+", b" "))
        if b"\x00" in raw:
            return False
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True


async def _problem(send: Send, status: int, slug: str, title: str, **extra: object) -> None:
    body = json.dumps({"type": f"https://incidents.local/problems/{slug}", "title": title, "status": status, **extra})
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/problem+json")]}
    )
    await send({"type": "http.response.body", "body": body.encode()})


async def _too_large(send: Send, max_bytes: int, *, close: bool) -> None:
    body = json.dumps(
        {
            "type": "https://incidents.local/problems/too-large",
            "title": "Request body too large",
            "status": 413,
            "detail": f"the limit is {max_bytes} bytes",
        }
    ).encode()
    headers = [(b"content-type", b"application/problem+json")]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _bad_correlation_id(send: Send, why: str) -> None:
    errors = [{"loc": ["header", "X-Correlation-ID"], "msg": why, "type": "value_error"}]
    detail = f"X-Correlation-ID: {why}"
    await _problem(
        send, 422, "bad-correlation-id", "The X-Correlation-ID header is not valid", detail=detail, errors=errors
    )


class RequestContext:
    """Binds a correlation id for the request (the client's, when it is within bounds: else 422), echoes it, and
    logs one line with the outcome."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(CORRELATION_HEADER, b"")
        refused = correlation_id_error(incoming) if incoming else None
        correlation = incoming.decode("ascii") if incoming and refused is None else str(uuid.uuid4())
        scope.setdefault("state", {})["correlation_id"] = correlation
        structlog.contextvars.bind_contextvars(correlation_id=correlation)
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((CORRELATION_HEADER, correlation.encode("latin-1")))
            await send(message)

        try:
            if refused is None:
                await self.app(scope, receive, capture)
            else:
                await _bad_correlation_id(capture, refused)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(elapsed)
            log.info(
                "request",
                method=scope["method"],
                path=_loggable(scope["path"]),
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )
            structlog.contextvars.clear_contextvars()
