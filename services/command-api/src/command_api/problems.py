"""RFC 9457 problem details for every error the API returns."""

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from incidents_shared.domain import errors as d
from incidents_shared.domain.directory import errors as directory

log = structlog.get_logger(__name__)
PROBLEM_TYPE_BASE = "https://incidents.local/problems/"
MEDIA_TYPE = "application/problem+json"


class ProblemDetails(BaseModel):
    """RFC 9457 problem details (extension members such as `errors` or `current_version` may follow)."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


_STATUS_TEXT = {
    400: "Bad request (e.g. an If-Match, cursor or URL this API cannot read)",
    401: "No or unknown bearer token",
    403: "The role may not do this",
    404: "Not found",
    409: "Conflict: If-Match mismatch, or not allowed in the incident's current state",
    412: "Precondition failed: the directory resource is no longer at the If-Match revision",
    413: "Body too large",
    422: "Invalid body or parameters",
    429: "Rate limit per principal exceeded; see Retry-After",
    503: "The log or the read models are unavailable; see Retry-After",
}


def problem_responses() -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for every error answer, all of them problem details."""
    schema = {"$ref": "#/components/schemas/ProblemDetails"}
    return {
        code: {"model": ProblemDetails, "description": text, "content": {MEDIA_TYPE: {"schema": schema}}}
        for code, text in _STATUS_TEXT.items()
    }


class Problem(Exception):
    """An error answer: status, a stable type slug, a title and details."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail
        self.headers = headers or {}
        self.extra = extra


def problem_response(problem: Problem, instance: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": PROBLEM_TYPE_BASE + problem.slug, "title": problem.title, "status": problem.status}
    if problem.detail:
        body["detail"] = problem.detail
    if instance:
        body["instance"] = instance
    body.update(problem.extra)
    return JSONResponse(body, status_code=problem.status, headers=problem.headers, media_type=MEDIA_TYPE)


DOMAIN_PROBLEMS: dict[type[d.DomainError], tuple[int, str, str]] = {
    d.IncidentNotFound: (404, "not-found", "Incident not found"),
    d.InvalidTransition: (409, "invalid-transition", "Not allowed in the incident's current state"),
    d.VersionConflict: (409, "version-conflict", "The incident has changed since you read it"),
    d.Forbidden: (403, "forbidden", "Your role may not do this"),
    d.InvalidCommand: (422, "invalid-command", "The command cannot be carried out as given"),
    d.UndecodableEvent: (422, "invalid-event", "Not a valid event"),
    directory.ResourceNotFound: (404, "not-found", "No such directory resource"),
    directory.ResourceExists: (409, "already-exists", "The directory resource already exists"),
    directory.StillReferenced: (409, "still-referenced", "Other directory resources still refer to it"),
    directory.RevisionConflict: (412, "precondition-failed", "The resource has changed since you read it"),
    directory.UnknownReference: (422, "unknown-reference", "The body names a resource the directory does not hold"),
    directory.InvalidOverride: (422, "invalid-override", "The override cannot be taken as given"),
    directory.InvalidDirectoryChange: (422, "invalid-change", "The directory does not take this change"),
}


LOG_UNAVAILABLE_DETAIL = (
    "The log could not be reached or did not acknowledge in time; retry after Retry-After seconds with the same"
    " Idempotency-Key"
)


def log_unavailable_detail(exc: Exception) -> str:
    """A 503's detail for the client: generic, since the exception names brokers and their addresses; the
    specifics go to the service's log."""
    log.warning("log_unavailable", error=str(exc), error_type=type(exc).__name__)
    return LOG_UNAVAILABLE_DETAIL


def from_domain(exc: d.DomainError, **extra: Any) -> Problem:
    status, slug, title = DOMAIN_PROBLEMS[type(exc)]
    if isinstance(exc, d.VersionConflict):
        extra.setdefault("current_version", exc.current)
    if isinstance(exc, d.Forbidden):
        extra.setdefault("rule", exc.rule)  # the authorization table's rule (docs/decisions/0090)
    return Problem(status, slug, title, str(exc), **extra)


def _json_safe(errors: Any) -> list[dict[str, Any]]:
    safe = []
    for error in errors:
        item = {
            "loc": [str(p) for p in error.get("loc", ())],
            "msg": str(error.get("msg")),
            "type": str(error.get("type")),
        }
        safe.append(item)
    return safe


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request.url.path)

    @app.exception_handler(d.DomainError)
    async def _domain(request: Request, exc: d.DomainError) -> JSONResponse:
        return problem_response(from_domain(exc), request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        problem = Problem(422, "validation", "The request is not valid", "see errors", errors=_json_safe(exc.errors()))
        return problem_response(problem, request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {404: "Not found", 405: "Method not allowed", 401: "Unauthorized"}.get(exc.status_code, "Error")
        problem = Problem(
            exc.status_code, f"http-{exc.status_code}", title, str(exc.detail), headers=dict(exc.headers or {})
        )
        return problem_response(problem, request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", path=request.url.path)
        return problem_response(Problem(500, "internal", "Internal error"), request.url.path)
