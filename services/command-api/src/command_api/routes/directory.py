"""Directory routes: /v1/users, /v1/teams, /v1/services, /v1/schedules, personal tokens and /v1/directory.

Thin: parse, run the use case (`DirectoryService`), answer. The answers shared with `routes.schedules` are here:
a verdict becomes 200/201/204 with `ETag: "<revision>"`, a domain error the problem its type maps to
(problems.DOMAIN_PROBLEMS), naming the field (`field`, `errors[].loc`) or the resources still referring (`by`).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Depends, Query, Response
from fastapi import Request as HttpRequest
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ValidationError

from command_api.auth import Principal
from command_api.deps import ContainerDep, CorrelationId, IdempotencyKey, IfMatch, parse_if_match, require
from command_api.directory_service import (
    Changed,
    ChangePending,
    ChangeRefused,
    ChangeRejected,
    DirectoryOutcome,
    DirectoryRequest,
    DirectoryService,
)
from command_api.http_answers import answer
from command_api.params import QueryTime
from command_api.problems import Problem, from_domain, problem_response
from incidents_shared.directory_log.judge import DirectoryVerdict
from incidents_shared.domain import directory as d
from incidents_shared.domain.directory.errors import DirectoryError, RevisionConflict, StillReferenced
from incidents_shared.domain.directory.model import Id
from incidents_shared.domain.directory.permissions import DIRECTORY_READERS, who_may_ever
from incidents_shared.domain.enums import Role
from incidents_shared.domain.errors import DomainError
from incidents_shared.domain.oncall import Schedule

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
    if service is None:
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


router = APIRouter(prefix="/v1", tags=["directory"])


class ScheduleBody(Schedule):
    """A schedule as POST and PUT take it: its id is a slug; overrides have their own routes."""

    id: Id


@dataclass(frozen=True)
class Resource:
    """One kind of directory resource: its path, body and commands, from which its five routes are made."""

    kind: d.Kind
    path: str
    field: str  # the commands' field holding the body
    body: type[BaseModel]
    shown: type[BaseModel]
    create: type[d.DirectoryCommand]
    update: type[d.DirectoryCommand]
    delete: type[d.DirectoryCommand]

    @property
    def single(self) -> str:
        return self.path.removesuffix("s")

    def live(self, state: d.DirectoryState) -> dict[str, BaseModel]:
        return {key: entry.resource for key, entry in state.table(self.kind).items() if entry.resource is not None}


RESOURCES = (
    Resource(d.Kind.USER, "users", "user", d.User, d.User, d.CreateUser, d.UpdateUser, d.DeleteUser),
    Resource(d.Kind.TEAM, "teams", "team", d.Team, d.Team, d.CreateTeam, d.UpdateTeam, d.DeleteTeam),
    Resource(
        d.Kind.SERVICE, "services", "service", d.Service, d.Service, d.CreateService, d.UpdateService, d.DeleteService
    ),
    Resource(
        d.Kind.SCHEDULE,
        "schedules",
        "schedule",
        ScheduleBody,
        Schedule,
        d.CreateSchedule,
        d.UpdateSchedule,
        d.DeleteSchedule,
    ),
)


def _answers(status: int, model: type[BaseModel], common: Answers) -> Answers:
    return {status: {"model": model}, **common}


class UserList(BaseModel):
    users: list[d.User]


class TeamList(BaseModel):
    teams: list[d.Team]


class ServiceList(BaseModel):
    services: list[d.Service]


class ScheduleList(BaseModel):
    schedules: list[Schedule]


class DirectoryDocument(BaseModel):
    """The whole directory, in the shape of a directory file (`incidentctl directory apply/export`)."""

    users: list[d.User]
    teams: list[d.Team]
    services: list[d.Service]
    schedules: list[Schedule]


LISTS: dict[d.Kind, type[BaseModel]] = {
    d.Kind.USER: UserList,
    d.Kind.TEAM: TeamList,
    d.Kind.SERVICE: ServiceList,
    d.Kind.SCHEDULE: ScheduleList,
}


def _id_of(body: Any) -> str:
    found: str = body.id
    return found


def listed(res: Resource, state: d.DirectoryState) -> list[Any]:
    live = res.live(state)
    return [resource_json(live[key]) for key in sorted(live)]


def _shown(res: Resource, created: bool) -> Render:
    def render(verdict: DirectoryVerdict, ours: bool) -> Response:
        headers = {"ETag": f'"{verdict.revision}"'}
        if created:
            headers["Location"] = f"/v1/{res.path}/{d.events.subject(verdict.event)}"
        return JSONResponse(resource_json(verdict.resource), 201 if created else 200, headers)

    return render


def _write_routes(res: Resource) -> None:
    one, model = f"/{res.path}/{{resource_id}}", res.body
    creator, replacer, deleter = may_ever(res.create), may_ever(res.update), may_ever(res.delete)

    async def create(
        body: Annotated[model, Body()],  # type: ignore[valid-type]
        http: HttpRequest,
        directory: DirectoryDep,
        correlation: CorrelationId,
        principal: creator,  # type: ignore[valid-type]
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        command = build(lambda given: res.create(**{res.field: given}), body)
        req = DirectoryRequest(principal, command, correlation, None, idempotency_key)
        return answer_change(await directory.execute(req), http.url.path, _shown(res, created=True))

    async def replace(
        resource_id: str,
        body: Annotated[model, Body()],  # type: ignore[valid-type]
        http: HttpRequest,
        directory: DirectoryDep,
        correlation: CorrelationId,
        principal: replacer,  # type: ignore[valid-type]
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        if _id_of(body) != resource_id:
            raise Problem(422, "id-mismatch", "The body's id is not the path's", "id: must be the path's", field="id")
        command = build(lambda given: res.update(**{res.field: given}), body)
        req = DirectoryRequest(principal, command, correlation, parse_if_match(if_match), idempotency_key)
        return answer_change(await directory.execute(req), http.url.path, _shown(res, created=False))

    async def delete(
        resource_id: str,
        http: HttpRequest,
        directory: DirectoryDep,
        correlation: CorrelationId,
        principal: deleter,  # type: ignore[valid-type]
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        command = build(lambda given: res.delete(**{"id": given}), resource_id)
        req = DirectoryRequest(principal, command, correlation, parse_if_match(if_match), idempotency_key)
        return answer_change(await directory.execute(req), http.url.path, deleted)

    created, shown = _answers(201, res.shown, ANSWERS), _answers(200, res.shown, ANSWERS)
    summary = f"Create a {res.single}"
    router.post(f"/{res.path}", status_code=201, responses=created, name=f"create_{res.single}", summary=summary)(
        create
    )
    router.put(one, responses=shown, name=f"replace_{res.single}", summary=f"Replace a {res.single}")(replace)
    router.delete(
        one,
        status_code=204,
        responses={**DELETED, **ANSWERS},
        name=f"delete_{res.single}",
        summary=f"Delete a {res.single}",
    )(delete)


def _read_routes(res: Resource) -> None:
    async def read(resource_id: str, directory: DirectoryDep, _: Reader) -> Response:
        state = directory.directory.state
        found = res.live(state).get(resource_id)
        if found is None:
            raise Problem(404, "not-found", f"No such {res.single}", f"no {res.single} {resource_id!r}")
        return JSONResponse(resource_json(found), headers={"ETag": f'"{state.revision(res.kind, resource_id)}"'})

    async def listing(directory: DirectoryDep, _: Reader) -> dict[str, Any]:
        return {res.path: listed(res, directory.directory.state)}

    listing_model = LISTS[res.kind]
    router.get(
        f"/{res.path}",
        response_model=listing_model,
        responses=READ_ANSWERS,
        name=f"list_{res.path}",
        summary=f"Every {res.single}",
    )(listing)
    router.get(
        f"/{res.path}/{{resource_id}}",
        responses=_answers(200, res.shown, READ_ANSWERS),
        name=f"get_{res.single}",
        summary=f"One {res.single}",
    )(read)


for _resource in RESOURCES:
    _write_routes(_resource)
    _read_routes(_resource)


# --- the whole directory ------------------------------------------------------------------------------------


@router.get(
    "/directory",
    response_model=DirectoryDocument,
    responses=READ_ANSWERS,
    summary="The whole directory (as a directory file), now or as it stood at `as_of`",
)
async def whole_directory(
    directory: DirectoryDep,
    _: Reader,
    as_of: Annotated[AwareTime | None, Query(description="RFC 3339 time with offset")] = None,
) -> dict[str, Any]:
    state = directory.directory.state if as_of is None else directory.directory.as_of(as_of)
    return directory_document(state)


def directory_document(state: d.DirectoryState) -> dict[str, Any]:
    """Every live resource by kind, sorted by id; schedules with their overrides. No revisions inside."""
    return {res.path: listed(res, state) for res in RESOURCES}
