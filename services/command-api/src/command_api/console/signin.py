"""GET/POST /console/sign-in and POST /console/sign-out: a personal token exchanged for a session cookie."""

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from command_api.auth import PERSONAL_PREFIX, token_hash
from command_api.console.identity import Acting, ConfigDep, ConsoleConfig, now
from command_api.console.sessions import COOKIE
from command_api.console.web import ConsoleRoute, form_fields, page
from command_api.login_limits import LoginLimits, client_address
from command_api.ratelimit import retry_after_header
from incidents_shared.domain.directory import token_holder

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)
HOME = "/console/"
SIGN_IN = "/console/sign-in"
ENDED = "/console/sign-in?ended=1"
SESSION_ENDED = "Your session ended (signed out, expired or the token was revoked). Sign in again."


@router.get("/sign-in")
async def sign_in_form(request: Request) -> HTMLResponse:
    ended = request.query_params.get("ended") == "1"
    return page(request, "sign_in.html", {"error": SESSION_ENDED if ended else None})


@router.post("/sign-in")
async def sign_in(request: Request, console: ConfigDep) -> Response:
    if not _same_origin(request):  # no signing a victim in as someone else from another site (login CSRF)
        return page(request, "sign_in.html", {"error": "Sign in from this site's own page."}, 403)
    if not console.directory_ready():
        return page(request, "sign_in.html", {"error": "The directory is still loading; try again shortly."}, 503)
    limits: LoginLimits = request.app.state.container.login_limits  # failed sign-ins (docs/decisions/0089)
    if (refused_s := limits.refused(client_address(request))) > 0:
        return _too_many(request, refused_s)
    token = (await form_fields(request)).get("token", "").strip()[:200]
    held = token_holder(console.directory(), token_hash(token)) if token.startswith(PERSONAL_PREFIX) else None
    if held is None:
        log.info("console_sign_in_refused")
        if (refused_s := await limits.failed(client_address(request))) > 0:
            return _too_many(request, refused_s)
        error = "That is not a working personal token (inc_…). An admin issues one: POST /v1/users/{id}/tokens."
        return page(request, "sign_in.html", {"error": error}, 401)
    secret = await console.sessions.open(held.user, token_hash(token), now(), console.ttl)
    log.info("console_signed_in", user=held.user, role=held.role.value)
    response = RedirectResponse(HOME, status_code=303)
    _set_cookie(response, console, secret)
    return response


@router.post("/sign-out")
async def sign_out(person: Acting, console: ConfigDep) -> Response:
    await console.sessions.end(person.secret)
    log.info("console_signed_out", user=person.principal.id)
    response = RedirectResponse(SIGN_IN, status_code=303)
    response.delete_cookie(COOKIE, path="/console", secure=console.secure_cookie, httponly=True, samesite="strict")
    return response


def _too_many(request: Request, wait_s: float) -> Response:
    error = "Too many failed sign-ins from your address. Wait a minute, then try again."
    response = page(request, "sign_in.html", {"error": error}, 429)
    response.headers["Retry-After"] = retry_after_header(wait_s)
    return response


def _set_cookie(response: Response, console: ConsoleConfig, secret: str) -> None:
    response.set_cookie(
        COOKIE,
        secret,
        max_age=int(console.ttl.total_seconds()),
        path="/console",
        secure=console.secure_cookie,
        httponly=True,
        samesite="strict",
    )


def _same_origin(request: Request) -> bool:
    """Browsers send Origin on every POST form; a request without one (curl) is not a cross-site page."""
    origin = request.headers.get("origin")
    if origin is None or (origin == "null" and request.headers.get("sec-fetch-site") == "same-origin"):
        return True
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")
