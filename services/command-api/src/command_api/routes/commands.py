"""Command routes: POST /v1/incidents and POST /v1/incidents/{id}/{action}. Thin: parse, execute, answer."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Response
from fastapi import Request as HttpRequest

from command_api.auth import Principal
from command_api.deps import ContainerDep, CorrelationId, IdempotencyKey, IfMatch, Prefer, parse_if_match, require
from command_api.http_answers import answer
from command_api.service import Request
from incidents_shared.domain import commands as c
from incidents_shared.domain.authorization import COMMAND_ROLES

router = APIRouter(prefix="/v1", tags=["commands"])

ACTIONS: dict[str, type[c.Command]] = {
    "categorize": c.Categorize,
    "prioritize": c.Prioritize,
    "assign": c.Assign,
    "acknowledge": c.Acknowledge,
    "investigate": c.StartInvestigation,
    "notes": c.AddNote,
    "hold": c.PutOnHold,
    "resume": c.Resume,
    "escalate": c.Escalate,
    "declare-major": c.DeclareMajor,
    "updates": c.PostUpdate,
    "link": c.Link,
    "resolve": c.Resolve,
    "reopen": c.Reopen,
    "close": c.Close,
    "review": c.CompleteReview,
}
ANSWERS: dict[int | str, dict[str, Any]] = {
    202: {"description": "Appended; the verdict is pending (see Location)"},
    401: {"description": "No or unknown bearer token"},
    403: {"description": "The role may not do this"},
    404: {"description": "Unknown incident"},
    409: {"description": "Conflict (If-Match) or not allowed in the current state"},
    413: {"description": "Body too large"},
    422: {"description": "Invalid body, or Idempotency-Key reused for another body"},
    503: {"description": "The log is unavailable; retry after Retry-After seconds"},
}


def _wants_async(prefer: str | None) -> bool:
    return prefer is not None and "respond-async" in prefer.lower()


@router.post("/incidents", status_code=201, responses=ANSWERS, summary="Log an incident")
async def log_incident(
    command: c.LogIncident,
    http: HttpRequest,
    box: ContainerDep,
    correlation: CorrelationId,
    principal: Annotated[Principal, Depends(require(COMMAND_ROLES[c.LogIncident]))],
    idempotency_key: IdempotencyKey = None,
    prefer: Prefer = None,
) -> Response:
    request = Request(principal, None, command, correlation, None, idempotency_key, _wants_async(prefer))
    return answer(await box.commands.execute(request), http.url.path)


def _action_route(action: str, cls: type[c.Command]) -> None:
    async def route(
        incident_id: UUID,
        command: Annotated[cls, Body()],  # type: ignore[valid-type]
        http: HttpRequest,
        box: ContainerDep,
        correlation: CorrelationId,
        principal: Annotated[Principal, Depends(require(COMMAND_ROLES[cls]))],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
        prefer: Prefer = None,
    ) -> Response:
        request = Request(
            principal,
            incident_id,
            command,
            correlation,
            parse_if_match(if_match),
            idempotency_key,
            _wants_async(prefer),
        )
        return answer(await box.commands.execute(request), http.url.path)

    route.__name__ = f"{action.replace('-', '_')}_incident"
    summary = (cls.__doc__ or cls.__name__).strip().splitlines()[0]
    router.post(f"/incidents/{{incident_id}}/{action}", responses=ANSWERS, summary=summary)(route)


for _action, _cls in ACTIONS.items():
    _action_route(_action, _cls)
