"""The reports page, pure: its filters read into the report window (the same `Window` GET /v1/reports/* builds),
and the charts drawn from the figures those routes answer (incidents_shared.charts, server-rendered SVG).

Every chart carries an alt text and sits beside a table of the same figures, so a screen reader reads numbers.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from incidents_shared.charts import PALETTE, Series, duration, hbar_chart, line_chart
from incidents_shared.domain.enums import Priority
from incidents_shared.report_query import GroupBy, RecurBy, Window

DEFAULT_DAYS = 30  # as GET /v1/reports/*
FOCUS = ("priority", "service", "team")  # one group of the summary, by the GroupBy of the same name


class ReportFilters(BaseModel):
    """The page's query string: the routes' parameters, with the period as whole UTC days (`to` included); an
    empty field is its default."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    start: date | None = Field(default=None, alias="from")
    end: date | None = Field(default=None, alias="to")
    group_by: GroupBy = GroupBy.PRIORITY
    priority: Priority | None = None
    service: Annotated[str, Field(max_length=120)] | None = None
    team: Annotated[str, Field(max_length=120)] | None = None
    by: RecurBy = RecurBy.SERVICE_CATEGORY
    min_count: Annotated[int, Field(ge=2, le=10_000)] = 3
    include_drills: bool = False

    def focus(self) -> tuple[GroupBy, str] | None:
        """The one group the headline shows (priority, service or team), or None for every incident."""
        for name in FOCUS:
            value = getattr(self, name)
            if value is not None:
                return GroupBy(name), str(value.value if isinstance(value, Priority) else value)
        return None

    def window(self, now: datetime) -> Window:
        end = datetime.combine(self.end + timedelta(days=1), time(), UTC) if self.end else now
        start = datetime.combine(self.start, time(), UTC) if self.start else end - timedelta(days=DEFAULT_DAYS)
        return Window(start, end, self.include_drills)


@dataclass(frozen=True)
class FilterError:
    field: str
    text: str


def read_filters(query: Mapping[str, str], now: datetime) -> tuple[ReportFilters, Window] | FilterError:
    """The filters and their window, or the field that is wrong (an unknown parameter is wrong too)."""
    try:
        filters = ReportFilters.model_validate({k: v for k, v in query.items() if v.strip()})  # empty: the default
    except ValidationError as exc:
        error = exc.errors()[0]
        return FilterError(".".join(str(p) for p in error["loc"]) or "query", str(error["msg"]))
    if sum(getattr(filters, name) is not None for name in FOCUS) > 1:
        return FilterError("priority", "choose one of priority, service or team")
    window = filters.window(now)
    if window.start >= window.end:
        return FilterError("from", "the period must start before it ends")
    return filters, window


def focused(groups: Sequence[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((g for g in groups if g["group"] == name), None)


def seconds(figures: Mapping[str, Any], key: str) -> str:
    value = figures.get(key)
    return "n/a" if value is None else duration(float(value))


@dataclass(frozen=True)
class Chart:
    title: str
    svg: str  # markup built by incidents_shared.charts, every text in it escaped


def group_charts(groups: Sequence[dict[str, Any]], group_by: GroupBy) -> list[Chart]:
    """MTTA p50, MTTR p50 and SLA compliance per group, as bars."""
    charts = []
    for key, name in (("mtta_seconds", "MTTA p50"), ("mttr_seconds", "MTTR p50")):
        items = [(str(g["group"]), float(g[key]["p50"])) for g in groups if g[key]["p50"] is not None]
        alt = f"{name} by {group_by.value}: " + _listed((label, duration(v)) for label, v in items)
        charts.append(Chart(f"{name} by {group_by.value}", hbar_chart(items, duration, PALETTE[0], alt)))
    sla = [(str(g["group"]), float(g["sla_compliance_pct"])) for g in groups if g["sla_compliance_pct"] is not None]
    alt = f"SLA compliance by {group_by.value}: " + _listed((label, f"{v:g}%") for label, v in sla)
    charts.append(Chart(f"SLA compliance % by {group_by.value}", hbar_chart(sla, _pct, PALETTE[2], alt)))
    return charts


def weekly_charts(weeks: Sequence[dict[str, Any]]) -> list[Chart]:
    """MTTA and MTTR per ISO week (p50 and p90), as lines; a week without a figure leaves a gap."""
    labels = [str(w["week"])[5:] for w in weeks]
    charts = []
    for key, name in (("mtta_seconds", "MTTA"), ("mttr_seconds", "MTTR")):
        series = [Series(f"{name} {q}", [w[key][q] for w in weeks]) for q in ("p50", "p90")]
        alt = f"{name} p50 per week: " + _listed((w["week"], seconds(w[key], "p50")) for w in weeks)
        charts.append(Chart(f"{name} per week", line_chart(labels, series, duration, alt)))
    return charts


def recurring_chart(groups: Sequence[dict[str, Any]]) -> Chart:
    items = [(recurring_label(g), float(g["occurrences"])) for g in groups]
    alt = "Recurring issues by occurrences: " + _listed((label, f"{v:g}") for label, v in items)
    return Chart("Recurring issues", hbar_chart(items, _count, PALETTE[1], alt))


def recurring_label(group: Mapping[str, Any]) -> str:
    if "dedup_key" in group:
        return str(group["dedup_key"])
    return f"{group.get('service')} / {group.get('category')}"


def _listed(pairs: Any) -> str:
    return "; ".join(f"{label} {value}" for label, value in pairs) or "no data"


def _pct(value: float) -> str:
    return f"{value:g}%"


def _count(value: float) -> str:
    return f"{value:g}"
