"""The command API's directory routes as `incidentctl directory` uses them: fetch the directory, send commands.

Every change goes through the API like any other client's (authenticated, the roles and the verdicts apply):
each command with its Idempotency-Key and, for anything but a create, an If-Match of the resource's revision.
"""

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from incidentctl.directory_doc import PLURAL, Directory, Resource
from incidents_shared.domain.directory import DirectoryCommand, Kind
from incidents_shared.domain.directory import commands as c

RETRIES, MAX_WAIT_S = 20, 5.0


@dataclass(frozen=True)
class Request:
    """One HTTP request of a command; `resource` is whose revision If-Match carries (None for a create)."""

    method: str
    path: str
    body: dict[str, Any] | None
    resource: tuple[Kind, str] | None


class ApiRefused(Exception):
    """The API answered with an error: its status, and the problem's detail and the fields it names."""

    def __init__(self, request: str, status: int, detail: str, fields: list[str]) -> None:
        super().__init__(f"{request}: {status} {detail}")
        self.request, self.status, self.detail, self.fields = request, status, detail, fields


def _path(kind: Kind, key: str | None = None) -> str:
    return f"/v1/{PLURAL[kind]}" + (f"/{quote(key, safe='')}" if key is not None else "")


def _json(model: Any, exclude: set[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = model.model_dump(mode="json", exclude=exclude)
    return body


def _override_path(schedule_id: str, user: str, start: datetime) -> str:
    start_text = start.isoformat().replace("+00:00", "Z")
    return f"{_path(Kind.SCHEDULE, schedule_id)}/overrides/{quote(user, safe='')}/{quote(start_text, safe='')}"


_REQUESTS: dict[type[DirectoryCommand], Callable[[Any], Request]] = {
    c.CreateUser: lambda cmd: Request("POST", _path(Kind.USER), _json(cmd.user), None),
    c.UpdateUser: lambda cmd: Request("PUT", _path(Kind.USER, cmd.user.id), _json(cmd.user), (Kind.USER, cmd.user.id)),
    c.DeleteUser: lambda cmd: Request("DELETE", _path(Kind.USER, cmd.id), None, (Kind.USER, cmd.id)),
    c.CreateTeam: lambda cmd: Request("POST", _path(Kind.TEAM), _json(cmd.team), None),
    c.UpdateTeam: lambda cmd: Request("PUT", _path(Kind.TEAM, cmd.team.id), _json(cmd.team), (Kind.TEAM, cmd.team.id)),
    c.DeleteTeam: lambda cmd: Request("DELETE", _path(Kind.TEAM, cmd.id), None, (Kind.TEAM, cmd.id)),
    c.CreateService: lambda cmd: Request("POST", _path(Kind.SERVICE), _json(cmd.service), None),
    c.UpdateService: lambda cmd: Request(
        "PUT", _path(Kind.SERVICE, cmd.service.id), _json(cmd.service), (Kind.SERVICE, cmd.service.id)
    ),
    c.DeleteService: lambda cmd: Request("DELETE", _path(Kind.SERVICE, cmd.id), None, (Kind.SERVICE, cmd.id)),
    c.CreateSchedule: lambda cmd: Request("POST", _path(Kind.SCHEDULE), _json(cmd.schedule, {"overrides"}), None),
    c.UpdateSchedule: lambda cmd: Request(
        "PUT",
        _path(Kind.SCHEDULE, cmd.schedule.id),
        _json(cmd.schedule, {"overrides"}),
        (Kind.SCHEDULE, cmd.schedule.id),
    ),
    c.DeleteSchedule: lambda cmd: Request("DELETE", _path(Kind.SCHEDULE, cmd.id), None, (Kind.SCHEDULE, cmd.id)),
    c.AddOverride: lambda cmd: Request(
        "POST",
        f"{_path(Kind.SCHEDULE, cmd.schedule_id)}/overrides",
        _json(cmd.override),
        (Kind.SCHEDULE, cmd.schedule_id),
    ),
    c.RemoveOverride: lambda cmd: Request(
        "DELETE", _override_path(cmd.schedule_id, cmd.user, cmd.start), None, (Kind.SCHEDULE, cmd.schedule_id)
    ),
}


def request_of(command: DirectoryCommand) -> Request:
    return _REQUESTS[type(command)](command)


def _fields(problem: dict[str, Any]) -> list[str]:
    """The fields a problem names: its `field`, else the `loc: msg` of each of its `errors` (less `body.`)."""
    if problem.get("field"):
        return [str(problem["field"])]
    fields = []
    for error in problem.get("errors") or []:
        loc = [str(part) for part in error.get("loc", [])]
        where = ".".join(loc[1:] if loc[:1] in (["body"], ["query"], ["path"]) else loc)
        fields.append(f"{where}: {error.get('msg', '')}" if where else str(error.get("msg", "")))
    return fields


def refused(request: str, response: httpx.Response) -> ApiRefused:
    try:
        problem = response.json()
    except ValueError:
        problem = None
    if not isinstance(problem, dict):
        return ApiRefused(request, response.status_code, response.text[:500] or response.reason_phrase, [])
    detail = str(problem.get("detail") or problem.get("title") or response.reason_phrase)
    return ApiRefused(request, response.status_code, detail, _fields(problem))


def _etag(response: httpx.Response) -> str | None:
    etag = response.headers.get("etag")
    return etag.strip() if etag else None


class DirectoryApi:
    """The directory over HTTP. Keeps the revision of every resource it has seen, for the next If-Match."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.revisions: dict[tuple[Kind, str], str] = {}

    def _request(self, method: str, path: str, **options: Any) -> httpx.Response:
        """One request, again after Retry-After (bounded) while the API answers 503 (still reading the log) or 202
        (appended, its verdict not folded yet). Safe for commands: a retry carries the same Idempotency-Key.
        """
        for _ in range(RETRIES):
            response = self.client.request(method, path, **options)
            if response.status_code not in (202, 503):
                return response
            retry_after = response.headers.get("retry-after", "1")
            time.sleep(min(float(retry_after) if retry_after.isdigit() else 1.0, MAX_WAIT_S))
        return response

    def fetch(self, as_of: datetime | None = None) -> Any:
        """`GET /v1/directory` (at `as_of`): the whole directory as a document."""
        params = {"as_of": as_of.isoformat()} if as_of is not None else {}
        response = self._request("GET", "/v1/directory", params=params)
        if response.status_code != 200:
            raise refused("GET /v1/directory", response)
        return response.json()

    def pin(self, kind: Kind, key: str, seen: Resource) -> None:
        """Take the resource's revision for If-Match, provided it is still what the diff was made on."""
        path = _path(kind, key)
        response = self._request("GET", path)
        if response.status_code != 200 or not (etag := _etag(response)):
            raise refused(f"GET {path}", response)
        if type(seen).model_validate(response.json()) != seen:
            raise ApiRefused(f"GET {path}", 412, "changed since the directory was read; run apply again", [])
        self.revisions[kind, key] = etag

    def pin_all(self, current: Directory, commands: Iterable[DirectoryCommand]) -> None:
        """Pin every resource the commands change that exists now, before anything is sent."""
        for command in commands:
            subject = request_of(command).resource
            if subject is not None and subject not in self.revisions:
                seen = current.table(subject[0]).get(subject[1])
                if seen is not None:
                    self.pin(*subject, seen)

    def send(self, command: DirectoryCommand, key_of: Callable[[str | None], str]) -> Request:
        """Send one command with If-Match (when it changes a resource) and the Idempotency-Key `key_of(if_match)`;
        ApiRefused on any error answer. Returns the request it sent."""
        request = request_of(command)
        if_match = self.revisions.get(request.resource) if request.resource is not None else None
        headers = {"Idempotency-Key": key_of(if_match)} | ({"If-Match": if_match} if if_match else {})
        response = self._request(request.method, request.path, json=request.body, headers=headers)
        if response.status_code >= 300:
            raise refused(f"{request.method} {request.path}", response)
        subject = request.resource or _created(command)
        if subject is not None and (etag := _etag(response)):
            self.revisions[subject] = etag
        return request


def _created(command: DirectoryCommand) -> tuple[Kind, str] | None:
    for kind in (Kind.USER, Kind.TEAM, Kind.SERVICE, Kind.SCHEDULE):
        resource = getattr(command, kind.value, None)
        if resource is not None:
            return kind, resource.id
    return None
