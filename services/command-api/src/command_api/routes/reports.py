"""Report routes: summary figures and recurring issues (definitions in docs/REPORTS.md)."""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from command_api.auth import Principal
from command_api.deps import ContainerDep, require
from command_api.params import QueryTime
from command_api.problems import Problem
from incidents_shared.domain.authorization import READERS
from incidents_shared.report_query import GroupBy, RecurBy, Window

router = APIRouter(prefix="/v1/reports", tags=["reports"])
Reader = Annotated[Principal, Depends(require(READERS))]
From = Annotated[QueryTime | None, Query(alias="from", description="logged at or after (default: 30 days ago)")]
To = Annotated[QueryTime | None, Query(alias="to", description="logged before (default: now)")]
DEFAULT_DAYS = 30


def _window(start: datetime | None, end: datetime | None, include_drills: bool) -> Window:
    if any(t is not None and t.tzinfo is None for t in (start, end)):
        raise Problem(400, "bad-time", "from and to need a UTC offset", "e.g. 2026-11-27T10:00:00Z")
    end = end or datetime.now(UTC)
    start = start or end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise Problem(400, "bad-window", "from must be before to")
    return Window(start, end, include_drills)


@router.get("/summary", summary="Counts by status, MTTA, MTTR, SLA compliance and breaches")
async def summary(
    box: ContainerDep,
    _: Reader,
    start: From = None,
    end: To = None,
    group_by: GroupBy | None = None,
    include_drills: bool = False,
) -> dict[str, Any]:
    window = _window(start, end, include_drills)
    return {
        "from": window.start.isoformat(),
        "to": window.end.isoformat(),
        "group_by": group_by.value if group_by else None,
        "include_drills": include_drills,
        "groups": await box.read_model.summary(window, group_by),
    }


@router.get("/recurring", summary="The same service and category, or the same dedup key, recurring in a window")
async def recurring(
    box: ContainerDep,
    _: Reader,
    start: From = None,
    end: To = None,
    by: RecurBy = RecurBy.SERVICE_CATEGORY,
    min_count: Annotated[int, Query(ge=2, le=10_000)] = 3,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    include_drills: bool = False,
) -> dict[str, Any]:
    window = _window(start, end, include_drills)
    return {
        "from": window.start.isoformat(),
        "to": window.end.isoformat(),
        "by": by.value,
        "min_count": min_count,
        "groups": await box.read_model.recurring(window, by, min_count, limit),
    }
