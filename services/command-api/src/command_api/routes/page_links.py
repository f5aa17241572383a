"""Page link routes: GET and POST /v1/page-links/{token}, no login (the signed link is the authority).

HTML for a browser (Accept: text/html), JSON otherwise; refusals are RFC 9457 problems (or the same as a page).
Problem bodies name the route, never the token: a token is a credential until it expires.
"""

import json
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Response
from fastapi import Request as HttpRequest
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, ValidationError

from command_api import page_link_html as html
from command_api.deps import Container, ContainerDep, CorrelationId
from command_api.http_answers import answer
from command_api.outcomes import Pending, Refused
from command_api.page_link_service import (
    Acknowledged,
    AckOutcome,
    IncidentMissing,
    LinkRefused,
    LinkUsed,
    PageLinkService,
    PageView,
    ShowOutcome,
    UserUnknown,
)
from command_api.problems import Problem, from_domain, problem_response, problem_responses
from incidents_shared.domain import payloads as p

router = APIRouter(prefix="/v1", tags=["page links"])
INSTANCE = "/v1/page-links/{token}"
FORM = "application/x-www-form-urlencoded"
HTML_PAGE = {"text/html": {"schema": {"type": "string"}}}
NO_LOGIN_NEEDED = (401, 429)  # no bearer token, so no 401 and no per-principal rate limit


class PageAck(BaseModel):
    """An optional comment with the acknowledgement (JSON or form fields; other fields are ignored)."""

    model_config = ConfigDict(extra="ignore")

    comment: p.ShortText | None = None


REFUSALS: dict[str, tuple[int, str, str]] = {
    "disabled": (404, "page-links-disabled", "Page links are not enabled"),
    "forged": (403, "page-link-forged", "Not a valid page link"),
    "unknown-key": (403, "page-link-unknown-key", "Not a valid page link"),
    "expired": (410, "page-link-expired", "This page link has expired"),
}


def _answers(ok: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """Every answer of a page link route, refusals as problems or as HTML."""
    answers = {code: entry for code, entry in problem_responses().items() if code not in NO_LOGIN_NEEDED}
    answers[410] = {**answers[404], "description": "The page link has expired"}
    answers[415] = {**answers[422], "description": "A body that is neither JSON nor a form"}
    for entry in answers.values():
        entry.pop("model", None)  # the content below says it all (a model would also claim the HTML answer)
        entry["content"] = {**entry["content"], **HTML_PAGE}
    return {**answers, **ok}


SHOW_ANSWERS = _answers({200: {"description": "The incident and an Acknowledge form", "content": HTML_PAGE}})
ACK_ANSWERS = _answers(
    {
        200: {
            "description": "Acknowledged: the incident (JSON), or a page saying so",
            "content": {"application/json": {"schema": {"type": "object"}}, **HTML_PAGE},
        },
        202: {
            "description": "Appended; the verdict is pending",
            "content": {"application/json": {"schema": {"type": "object"}}, **HTML_PAGE},
        },
    }
)
ACK_BODY = {
    "requestBody": {
        "required": False,
        "content": {
            "application/json": {"schema": PageAck.model_json_schema()},
            FORM: {"schema": PageAck.model_json_schema()},
        },
    }
}


def _service(box: Container) -> PageLinkService:
    if box.page_links is None:
        raise Problem(404, "page-links-disabled", "Page links are not enabled")
    return box.page_links


def _wants_html(http: HttpRequest) -> bool:
    return "text/html" in http.headers.get("accept", "").lower()


def _problem(outcome: object) -> Problem:
    if isinstance(outcome, LinkRefused):
        status, slug, title = REFUSALS[outcome.reason]
        return Problem(status, slug, title, outcome.detail)
    if isinstance(outcome, IncidentMissing):
        return Problem(404, "not-found", "Incident not found", f"no incident {outcome.incident_id}")
    if isinstance(outcome, UserUnknown):
        return Problem(403, "user-unknown", "Not in the directory", f"{outcome.user} is no longer in the directory")
    if isinstance(outcome, LinkUsed):
        return Problem(409, "page-link-used", "Already used or acknowledged", outcome.detail)
    assert isinstance(outcome, Refused), outcome
    return from_domain(outcome.error)


def _refused(problem: Problem, as_html: bool) -> Response:
    if as_html:
        page = html.refusal(problem.status, problem.title, problem.detail)
        return HTMLResponse(page, problem.status, headers={**problem.headers, **html.HEADERS})
    response = problem_response(problem, INSTANCE)
    response.headers.update(html.HEADERS)
    return response


@router.get(
    "/page-links/{token}",
    response_class=HTMLResponse,
    responses=SHOW_ANSWERS,
    summary="The incident a page link acknowledges, with an Acknowledge button (changes nothing)",
)
async def show_page_link(token: str, http: HttpRequest, box: ContainerDep) -> Response:
    outcome: ShowOutcome = await _service(box).show(token)
    if isinstance(outcome, PageView):
        return HTMLResponse(html.confirmation(outcome), headers=html.HEADERS)
    return _refused(_problem(outcome), _wants_html(http))


@router.post(
    "/page-links/{token}",
    responses=ACK_ANSWERS,
    openapi_extra=ACK_BODY,
    summary="Acknowledge the incident as the paged user (once per page)",
)
async def acknowledge_from_page(
    token: str, http: HttpRequest, box: ContainerDep, correlation: CorrelationId
) -> Response:
    as_html = _wants_html(http)
    body = _parsed_body(http.headers.get("content-type", ""), await http.body())
    if isinstance(body, Problem):
        return _refused(body, as_html)
    outcome: AckOutcome = await _service(box).acknowledge(token, body.comment, correlation)
    if isinstance(outcome, Acknowledged):
        if as_html:
            return HTMLResponse(html.acknowledged(outcome.incident, outcome.user), headers=html.HEADERS)
        return Response(outcome.state_json, 200, {"ETag": f'"{outcome.revision}"'}, media_type="application/json")
    if isinstance(outcome, Pending):
        if as_html:
            return HTMLResponse(html.pending(), 202, headers=html.HEADERS)
        return answer(outcome, INSTANCE)
    return _refused(_problem(outcome), as_html)


def _parsed_body(content_type: str, raw: bytes) -> PageAck | Problem:
    """An empty body, a JSON object or a form: the optional comment, or a problem naming what is wrong."""
    if not raw.strip():
        return PageAck()
    media = content_type.split(";")[0].strip().lower()
    try:
        if media == FORM:
            fields: Any = {k: v[-1] for k, v in parse_qs(raw.decode("utf-8"), strict_parsing=True).items()}
        elif media in ("", "application/json") or media.endswith("+json"):
            fields = json.loads(raw)
        else:
            return Problem(415, "unsupported-media-type", "Send JSON or a form", f"not {media}")
        return PageAck.model_validate(fields)
    except ValidationError as exc:
        errors = [{"loc": ["body", *map(str, e["loc"])], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        return Problem(422, "validation", "The request is not valid", "see errors", errors=errors)
    except ValueError:  # JSON or UTF-8 that does not decode, a malformed form
        return Problem(422, "validation", "The request is not valid", "the body is not valid JSON or form data")
