"""GET /console/ (the queue) and GET /console/queue (its rows, which the page swaps in live).

The filters are the read API's (`IncidentQuery`, the same SQL as GET /v1/incidents); the console adds the
scope (mine / my team's / all) and "open" (any open status) on top.
"""

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from command_api.console.identity import Person, SignedIn
from command_api.console.web import ConsoleRoute, page, stream_position
from command_api.deps import ContainerDep
from command_api.incident_query import IncidentQuery, Sort
from incidents_shared.domain.enums import OPEN_STATUSES, Priority, Status

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)
ROWS = 200  # a screenful for a responder; the read API pages further


class Scope(StrEnum):
    ALL = "all"
    MINE = "mine"
    TEAM = "team"


class QueueFilters(BaseModel):
    """The queue's query string; an empty field means "any"."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    scope: Scope = Scope.ALL
    status: Status | None = None  # None: every open status
    priority: Priority | None = None
    service: Annotated[str, Field(max_length=120)] | None = None
    team: Annotated[str, Field(max_length=120)] | None = None
    breached: bool | None = None
    q: Annotated[str, Field(max_length=500)] | None = None
    sort: Sort = Sort.PRIORITY

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_any(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    def query(self, person: Person) -> IncidentQuery:
        equals: dict[str, Any] = {k: v for k, v in self._equals().items() if v is not None}
        if self.scope is Scope.MINE:
            equals["assignee"] = person.principal.id
        if self.scope is Scope.TEAM and self.team is None:
            equals["team"] = person.teams[0] if person.teams else "\x00none"  # no team: nothing is theirs
        statuses = () if self.status is not None else tuple(sorted(s.value for s in OPEN_STATUSES))
        return IncidentQuery(
            equals=equals, statuses=statuses, q=self.q, breached=self.breached, sort=self.sort, limit=ROWS
        )

    def _equals(self) -> dict[str, Any]:
        return {
            "status": self.status.value if self.status else None,
            "priority": self.priority.value if self.priority else None,
            "service": self.service,
            "team": self.team,
        }


def filters_of(request: Request) -> QueueFilters | str:
    """The filters, or the name of the field that is wrong."""
    try:
        return QueueFilters.model_validate(dict(request.query_params))
    except ValidationError as exc:
        return ".".join(str(part) for part in exc.errors()[0]["loc"]) or "query"


async def _rendered(request: Request, box: ContainerDep, person: Person, template: str) -> HTMLResponse:
    filters = filters_of(request)
    if isinstance(filters, str):
        context = {"person": person, "error": f"The filter {filters} is not valid.", "filters": QueueFilters()}
        return page(request, template, context | {"items": [], "more": False, "options": _options()}, 422)
    position = await stream_position(request)
    items, after = await box.read_model.list_incidents(filters.query(person))
    context = {"person": person, "filters": filters, "items": items, "more": after is not None, "error": None}
    context["stream_after"] = position
    return page(request, template, context | {"options": _options()})


def _options() -> dict[str, Any]:
    return {"statuses": list(Status), "priorities": list(Priority), "sorts": list(Sort), "scopes": list(Scope)}


@router.get("/")
async def queue(request: Request, box: ContainerDep, person: SignedIn) -> HTMLResponse:
    return await _rendered(request, box, person, "queue.html")


@router.get("/queue")
async def queue_rows(request: Request, box: ContainerDep, person: SignedIn) -> HTMLResponse:
    return await _rendered(request, box, person, "queue_rows.html")
