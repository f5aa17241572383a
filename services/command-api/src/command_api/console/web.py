"""The console's web plumbing: where templates and assets live, the headers every page carries, rendering."""

import time
import urllib.parse
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import structlog
from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from command_api.stream_query import LiveStream
from incidents_shared.appender import LogUnavailable
from incidents_shared.db import DATABASE_DOWN

log = structlog.get_logger(__name__)
UNAVAILABLE = (*DATABASE_DOWN, LogUnavailable)
RETRY_AFTER_S = "5"

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
# Built by scripts/console-assets.sh from console/package-lock.json (gitignored build output).
VENDOR_FILES = ("htmx.min.js", "swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js")
STATIC_URL = "/console/static"
# No inline script or style anywhere: every script and stylesheet is a file of this origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
    " form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
templates = Jinja2Templates(directory=HERE / "templates")  # autoescape on for .html: text stays text
# Templates are part of the release: no stat() of each one per render (the queue's 200 rows include sla.html each,
# a quarter of its template time; docs/decisions/0088). A changed template shows after a restart.
templates.env.auto_reload = False


def missing_assets() -> list[str]:
    """The built asset files that are not there (empty when the console can be served)."""
    return [name for name in VENDOR_FILES if not (VENDOR_DIR / name).is_file()]


def page(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """A console page or fragment, with the console's security headers."""
    return templates.TemplateResponse(
        request, template, {"static": STATIC_URL, **context}, status_code=status_code, headers=PAGE_HEADERS
    )


async def stream_position(request: Request) -> int:
    """Where the page's live stream starts: read before the page's data, so no later event is missed."""
    live: LiveStream = request.app.state.live_stream
    return await live.position()


async def form_fields(request: Request) -> dict[str, str]:
    """An urlencoded form's fields (the first value of each); anything else is an empty form."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return {}
    body = (await request.body()).decode("utf-8", errors="replace")
    fields: dict[str, str] = {}
    for name, value in urllib.parse.parse_qsl(body, keep_blank_values=True):
        fields.setdefault(name, value)
    return fields


class ConsoleRoute(APIRoute):
    """A console page: when the read models or the log are unavailable, a page saying so (503, Retry-After)
    instead of the API's JSON problem, so a person at 3 a.m. reads what is wrong and that retrying helps."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            started = time.perf_counter()
            try:
                response = await handler(request)
            except UNAVAILABLE as exc:
                log.warning("console_unavailable", path=request.url.path, error=type(exc).__name__)
                response = unavailable(request, "log" if isinstance(exc, LogUnavailable) else "database")
            # The page's server time (queries and template), which the console budget is about (bench/console.py).
            response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
            return response

        return guarded


def unavailable(request: Request, what: str) -> HTMLResponse:
    text = {
        "log": "The incident log is unavailable, so nothing can be changed right now. Nothing was lost.",
        "database": "The incident read models are unavailable right now.",
    }[what]
    context = {"person": None, "title": "Temporarily unavailable", "text": f"{text} Try again in a few seconds."}
    response = page(request, "message.html", context, 503)
    response.headers["Retry-After"] = RETRY_AFTER_S
    return response
