"""GET /console/reports: MTTA, MTTR, SLA compliance and recurring issues with charts.

The figures are the ones GET /v1/reports/summary and /recurring answer for the same window: the page calls the
same read-model methods, and the weekly lines run the same shared statement as `incidentctl report`.
"""

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from command_api.console import report_view as rv
from command_api.console.identity import Person, SignedIn
from command_api.console.web import ConsoleRoute, page
from command_api.deps import Container, ContainerDep
from incidents_shared.domain.enums import Priority
from incidents_shared.report_query import GroupBy, RecurBy, Window, weekly_row, weekly_sql

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)
RECURRING_LIMIT = 50  # as GET /v1/reports/recurring's default


def _options() -> dict[str, Any]:
    return {"group_bys": list(GroupBy), "priorities": list(Priority), "recur_bys": list(RecurBy)}


@router.get("/reports")
async def reports(request: Request, box: ContainerDep, person: SignedIn) -> HTMLResponse:
    read = rv.read_filters(request.query_params, datetime.now(UTC))
    if isinstance(read, rv.FilterError):
        values = {k: v[:200] for k, v in request.query_params.items()}
        context = {"person": person, "error": read, "filters": None, "values": values, "options": _options()}
        return page(request, "reports.html", context, 422)
    filters, window = read
    return page(request, "reports.html", await _figures(box, person, filters, window))


async def _figures(box: Container, person: Person, filters: rv.ReportFilters, window: Window) -> dict[str, Any]:
    groups = await box.read_model.summary(window, filters.group_by)
    focus = filters.focus()
    headline: dict[str, Any] | None
    if focus is None:
        headline = rv.focused(await box.read_model.summary(window, None), "all")
    else:
        focus_groups = groups if focus[0] is filters.group_by else await box.read_model.summary(window, focus[0])
        headline = rv.focused(focus_groups, focus[1])
    recurring = await box.read_model.recurring(window, filters.by, filters.min_count, RECURRING_LIMIT)
    weeks = [weekly_row(dict(r)) for r in await box.read_model.pool.fetch(weekly_sql(window), *window.args())]
    return {
        "person": person,
        "error": None,
        "filters": filters,
        "values": _values(filters),
        "options": _options(),
        "window": window,
        "focus": focus,
        "headline": headline,
        "groups": groups,
        "weeks": weeks,
        "recurring": recurring,
        "group_charts": rv.group_charts(groups, filters.group_by),
        "weekly_charts": rv.weekly_charts(weeks),
        "recurring_chart": rv.recurring_chart(recurring),
        "seconds": rv.seconds,
        "recurring_label": rv.recurring_label,
    }


def _values(filters: rv.ReportFilters) -> dict[str, str]:
    """The filters as the form shows them again."""
    shown = filters.model_dump(mode="json", by_alias=True)
    return {k: "" if v is None else str(v).lower() if isinstance(v, bool) else str(v) for k, v in shown.items()}
