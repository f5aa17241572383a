"""Wiring the console into the command API: its routers, its static files, and what it answers when it cannot
be served (assets not built, directory not read, no session)."""

from collections.abc import Callable
from datetime import timedelta

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from command_api.console import actions, docs, incident, new_incident, queue, reports, signin, stream
from command_api.console.identity import ConsoleConfig, CsrfRefused, DirectoryNotReady, SignInRequired
from command_api.console.oncall import router as oncall_router
from command_api.console.oncall_take import router as take_shift_router
from command_api.console.sessions import COOKIE, PgSessions
from command_api.console.web import STATIC_DIR, STATIC_URL, missing_assets, page
from command_api.problems import Problem, problem_response
from incidents_shared.db import Pool
from incidents_shared.domain.directory import DirectoryState

log = structlog.get_logger(__name__)
BUILD_HINT = "run scripts/console-assets.sh (make run and make test do): npm ci in console/ and copy the assets"


def install_console(app: FastAPI) -> None:
    """Mount /console/, /docs and /redoc; without the built assets, they answer 503 saying how to build them."""
    missing = missing_assets()
    if missing:
        log.error("console_assets_missing", missing=missing, fix=BUILD_HINT)
        for path in ("/docs", "/redoc"):
            app.add_api_route(path, _unbuilt(missing), include_in_schema=False)
        app.add_api_route("/console/{rest:path}", _unbuilt(missing), methods=["GET", "POST"], include_in_schema=False)
        return
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="console-static")
    for module in (signin, queue, new_incident, incident, actions, stream, docs, reports):  # new before {id}
        app.include_router(module.router)
    app.include_router(oncall_router)  # /console/on-call (decision 0085)
    app.include_router(take_shift_router)
    app.add_exception_handler(SignInRequired, _sign_in_again)
    app.add_exception_handler(CsrfRefused, _csrf_refused)
    app.add_exception_handler(DirectoryNotReady, _directory_not_ready)


def console_config(
    pool: Pool, directory: Callable[[], DirectoryState], ready: Callable[[], bool], ttl_s: int, public_url: str
) -> ConsoleConfig:
    """The console's sessions and settings; cookies are Secure unless the API is reached over plain http."""
    secure = not public_url.startswith("http://")
    return ConsoleConfig(PgSessions(pool), directory, ready, timedelta(seconds=ttl_s), secure)


def _unbuilt(missing: list[str]) -> Callable[[Request], JSONResponse]:
    def answer(request: Request) -> JSONResponse:
        detail = f"missing {', '.join(missing)}: {BUILD_HINT}"
        return problem_response(
            Problem(503, "console-not-built", "The console's assets are not built", detail), request.url.path
        )

    return answer


async def _sign_in_again(request: Request, exc: Exception) -> Response:
    target = signin.ENDED if COOKIE in request.cookies else signin.SIGN_IN  # "your session ended", not a blank form
    if request.headers.get("hx-request") or request.url.path.endswith("/stream"):
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


async def _csrf_refused(request: Request, exc: Exception) -> Response:
    context = {
        "person": None,
        "title": "Refused",
        "text": "This form was not sent by your console page; reload it and try again.",
    }
    return page(request, "message.html", context, 403)


async def _directory_not_ready(request: Request, exc: Exception) -> Response:
    context = {
        "person": None,
        "title": "Starting up",
        "text": "The directory is still loading; try again in a few seconds.",
    }
    response = page(request, "message.html", context, 503)
    response.headers["Retry-After"] = "5"
    return response
