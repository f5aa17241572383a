"""Directory routes: /v1/users, /v1/teams, /v1/services, /v1/schedules (five routes each, made from one table) and
/v1/directory. Thin: parse, run the use case (`DirectoryService`), answer (`routes.directory_http`).
"""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response
from fastapi import Request as HttpRequest
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from command_api.deps import CorrelationId, IdempotencyKey, IfMatch, parse_if_match
from command_api.directory_service import DirectoryRequest
from command_api.problems import Problem
from command_api.routes.directory_http import (
    ANSWERS,
    DELETED,
    READ_ANSWERS,
    Answers,
    AwareTime,
    DirectoryDep,
    Reader,
    Render,
    answer_change,
    build,
    deleted,
    may_ever,
    resource_json,
)
from incidents_shared.directory_log.judge import DirectoryVerdict
from incidents_shared.domain import directory as d
from incidents_shared.domain.directory.model import Id
from incidents_shared.domain.oncall import Layer, Schedule

router = APIRouter(prefix="/v1", tags=["directory"])


class ScheduleBody(Schedule):
    """A schedule as POST and PUT take it: its id is a slug; overrides have their own routes."""

    id: Id


class LayerShown(Layer):
    start: str = Field(  # type: ignore[assignment]
        description="local wall-clock date-time in the schedule's zone (no offset), or with an offset"
    )


class ScheduleShown(Schedule):
    """A schedule as answered: its layers' starts as given (a local time has no offset, so it is no RFC 3339 time)."""

    layers: list[LayerShown]  # type: ignore[assignment]


@dataclass(frozen=True)
class Resource:
    """One kind of directory resource: its path, body and commands, from which its five routes are made."""

    kind: d.Kind
    path: str
    field: str  # the commands' field holding the body
    model: type[BaseModel]  # the domain's
    body: type[BaseModel]  # what POST and PUT take
    shown: type[BaseModel]  # what GET answers
    create: type[d.DirectoryCommand]
    update: type[d.DirectoryCommand]
    delete: type[d.DirectoryCommand]

    @property
    def single(self) -> str:
        return self.path.removesuffix("s")

    def domain(self, body: BaseModel) -> BaseModel:
        """The body as the domain's own model (a `ScheduleBody` as a `Schedule`): what every reader of the log
        decodes, so the directory this instance folds equals theirs."""
        return body if type(body) is self.model else self.model.model_validate(body.model_dump())

    def live(self, state: d.DirectoryState) -> dict[str, BaseModel]:
        return {key: entry.resource for key, entry in state.table(self.kind).items() if entry.resource is not None}


RESOURCES = (
    Resource(d.Kind.USER, "users", "user", d.User, d.User, d.User, d.CreateUser, d.UpdateUser, d.DeleteUser),
    Resource(d.Kind.TEAM, "teams", "team", d.Team, d.Team, d.Team, d.CreateTeam, d.UpdateTeam, d.DeleteTeam),
    Resource(
        d.Kind.SERVICE,
        "services",
        "service",
        d.Service,
        d.Service,
        d.Service,
        d.CreateService,
        d.UpdateService,
        d.DeleteService,
    ),
    Resource(
        d.Kind.SCHEDULE,
        "schedules",
        "schedule",
        Schedule,
        ScheduleBody,
        ScheduleShown,
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
    schedules: list[ScheduleShown]


class DirectoryDocument(BaseModel):
    """The whole directory, in the shape of a directory file (`incidentctl directory apply/export`)."""

    users: list[d.User]
    teams: list[d.Team]
    services: list[d.Service]
    schedules: list[ScheduleShown]


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
        command = build(lambda given: res.create(**{res.field: res.domain(given)}), body)
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
        command = build(lambda given: res.update(**{res.field: res.domain(given)}), body)
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
