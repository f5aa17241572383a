"""The HTTP side shared by the directory's routes (`routes.directory`, `routes.schedules`, `routes.directory_tokens`):
the doors (which roles get in), the use case as a dependency, and the answers. A verdict becomes 200/201/204 with
`ETag: "<revision>"`; a domain error the problem its type maps to (problems.DOMAIN_PROBLEMS), naming the field
(`field`, `errors[].loc`) or the resources still referring to it (`by`).
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Response
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ValidationError

from command_api.auth import Principal
from command_api.deps import ContainerDep, require
from command_api.directory_service import (
    Changed,
    ChangePending,
    ChangeRefused,
    ChangeRejected,
    DirectoryOutcome,
    DirectoryService,
)
from command_api.http_answers import answer
from command_api.params import QueryTime
from command_api.problems import Problem, from_domain, problem_response
from incidents_shared.directory_log.judge import DirectoryVerdict
from incidents_shared.domain import directory as d
from incidents_shared.domain.directory.errors import DirectoryError, RevisionConflict, StillReferenced
from incidents_shared.domain.directory.permissions import DIRECTORY_READERS, who_may_ever
from incidents_shared.domain.enums import Role
from incidents_shared.domain.errors import DomainError

M = TypeVar("M", bound=BaseModel)
Render = Callable[[DirectoryVerdict, bool], Response]  # (the accepted verdict, on this request's record?) -> answer

Answers = dict[int | str, dict[str, Any]]
ANSWERS: Answers = {
    202: {"description": "Appended; this instance has not folded the verdict yet (retry with the Idempotency-Key)"},
    403: {"description": "Not allowed for the caller (see docs/decisions/0069 for who may change what)"},
    404: {"description": "No such resource"},
    409: {"description": "Exists already, or still referenced (`by` names who refers to it)"},
    412: {"description": "If-Match names a revision the resource is no longer at"},
    422: {"description": "Invalid body naming the field, or Idempotency-Key reused for another body"},
}
READ_ANSWERS: Answers = {404: {"description": "No such resource"}}
DELETED: Answers = {204: {"description": "Done; ETag: the tombstone's revision"}}


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("needs a UTC offset, e.g. 2027-03-28T09:00:00Z")
    return value.astimezone(UTC)


AwareTime = Annotated[QueryTime, AfterValidator(_aware)]
Reader = Annotated[Principal, Depends(require(DIRECTORY_READERS))]
Caller = Annotated[Principal, Depends(require(frozenset(Role)))]  # what each may change: permissions.PERMISSIONS


def may_ever(command: type[d.DirectoryCommand]) -> Any:
    """The caller of a route for `command`: refused at once (403) when no grant of the table could allow its role;
    the use case then decides on the command itself (self-service rules)."""
    return Annotated[Principal, Depends(require(who_may_ever(command)))]


async def directory_service(box: ContainerDep) -> DirectoryService:
    service: DirectoryService | None = box.directory
    if service is None or not service.directory.is_ready:  # e.g. Kafka was down at start: never answer a prefix
        raise Problem(503, "directory-unavailable", "The directory is not loaded", headers={"Retry-After": "5"})
    return service


DirectoryDep = Annotated[DirectoryService, Depends(directory_service)]


def resource_json(resource: BaseModel) -> Any:
    return resource.model_dump(mode="json")


def build(make: Callable[[Any], d.DirectoryCommand], given: Any) -> d.DirectoryCommand:
    """The command for a parsed body or path; a value the command refuses is a 422 naming the field."""
    try:
        return make(given)
    except ValidationError as exc:
        errors = [{"loc": [str(p) for p in e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        raise Problem(422, "validation", "The request is not valid", "see errors", errors=errors) from None


def stored(verdict: DirectoryVerdict, cls: type[M]) -> M:
    assert isinstance(verdict.resource, cls), "an accepted change leaves its resource"
    return verdict.resource


def directory_problem(error: DomainError, instance: str, **extra: Any) -> Response:
    if isinstance(error, DirectoryError) and error.loc:
        slug = from_domain(error).slug
        extra |= {
            "field": error.field,
            "errors": [{"loc": ["body", *map(str, error.loc)], "msg": str(error), "type": slug}],
        }
    if isinstance(error, StillReferenced):
        extra["by"] = {where: list(ids) for where, ids in error.by.items()}
    if isinstance(error, RevisionConflict):
        extra["current_revision"] = error.current
    return problem_response(from_domain(error, **extra), instance)


def answer_change(outcome: DirectoryOutcome, instance: str, render: Render) -> Response:
    """The HTTP answer to a directory change; `render` shows an accepted one."""
    if isinstance(outcome, Changed):
        return render(outcome.verdict, outcome.ours)
    if isinstance(outcome, ChangeRefused):
        return directory_problem(outcome.error, instance)
    if isinstance(outcome, ChangeRejected):
        assert outcome.verdict.error is not None
        return directory_problem(outcome.verdict.error, instance, event_id=str(outcome.verdict.event_id))
    if isinstance(outcome, ChangePending):
        body = {"status": "pending", "event_id": str(outcome.event_id), "offset": outcome.offset}
        return JSONResponse(body, status_code=202, headers={"Retry-After": "1"})
    return answer(outcome, instance)  # KeyReused: as incident commands answer it


def deleted(verdict: DirectoryVerdict, ours: bool) -> Response:
    return Response(status_code=204, headers={"ETag": f'"{verdict.revision}"'})
