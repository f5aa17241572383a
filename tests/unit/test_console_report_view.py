"""The reports page's pure half: its query string to the report window, and charts with text alternatives."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from command_api.console.report_view import (
    FilterError,
    ReportFilters,
    group_charts,
    read_filters,
    recurring_chart,
    weekly_charts,
)
from incidents_shared.charts import hbar_chart, line_chart
from incidents_shared.report_query import GroupBy, RecurBy

NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


def _read(**query: str) -> tuple[ReportFilters, Any]:
    read = read_filters(query, NOW)
    assert not isinstance(read, FilterError), read
    return read


def test_the_default_window_is_the_routes_last_30_days() -> None:
    filters, window = _read()
    assert (window.start, window.end, window.include_drills) == (NOW - timedelta(days=30), NOW, False)
    assert filters.group_by is GroupBy.PRIORITY and filters.by is RecurBy.SERVICE_CATEGORY
    assert filters.min_count == 3 and filters.focus() is None


def test_days_are_whole_utc_days_with_to_included() -> None:
    filters, window = _read(**{"from": "2026-11-01", "to": "2026-11-30", "include_drills": "true", "service": "pay"})
    assert window.start == datetime(2026, 11, 1, tzinfo=UTC)
    assert window.end == datetime(2026, 12, 1, tzinfo=UTC) and window.include_drills
    assert filters.focus() == (GroupBy.SERVICE, "pay")
    assert _read(priority="P2", group_by="")[0].focus() == (GroupBy.PRIORITY, "P2")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"group_by": "colour"}, "group_by"),
        ({"priority": "P9"}, "priority"),
        ({"colour": "red"}, "colour"),  # an unknown filter is refused, not ignored
        ({"from": "2026-13-01"}, "from"),
        ({"from": "2026-11-30", "to": "2026-11-01"}, "from"),
        ({"min_count": "1"}, "min_count"),
        ({"by": "title"}, "by"),
        ({"priority": "P1", "team": "ops"}, "priority"),
        ({"service": "s" * 121}, "service"),
    ],
)
def test_bad_filters_name_the_field(query: dict[str, str], field: str) -> None:
    wrong = read_filters(query, NOW)
    assert isinstance(wrong, FilterError) and wrong.field == field, wrong


def _figures(p50: float | None) -> dict[str, Any]:
    return {"count": 1, "mean": p50, "p50": p50, "p90": p50}


def test_every_chart_names_its_figures_for_a_screen_reader() -> None:
    groups: list[dict[str, Any]] = [
        {"group": "P1", "mtta_seconds": _figures(90), "mttr_seconds": _figures(7200), "sla_compliance_pct": 50.0},
        {"group": "<P2>", "mtta_seconds": _figures(None), "mttr_seconds": _figures(None), "sla_compliance_pct": None},
    ]
    mtta, mttr, sla = group_charts(groups, GroupBy.PRIORITY)
    assert 'aria-label="MTTA p50 by priority: P1 1.5m"' in mtta.svg and "<title>MTTA p50 by priority" in mtta.svg
    assert 'aria-label="MTTR p50 by priority: P1 2h"' in mttr.svg
    assert "SLA compliance by priority: P1 50%" in sla.svg and "<P2>" not in mtta.svg + mttr.svg + sla.svg
    weeks = [{"week": "2026-11-23", "total": 1, "mtta_seconds": _figures(30), "mttr_seconds": _figures(None)}]
    weekly = weekly_charts(weeks)
    assert 'aria-label="MTTA p50 per week: 2026-11-23 30s"' in weekly[0].svg
    assert "2026-11-23 n/a" in weekly[1].svg
    recurring = recurring_chart([{"service": "pay", "category": "<b>", "occurrences": 4}])
    assert "pay / &lt;b&gt; 4" in recurring.svg and "<b>" not in recurring.svg


def test_a_chart_without_alt_text_is_drawn_as_before() -> None:
    assert hbar_chart([("a", 1.0)]).startswith('<svg viewBox="0 0 560 36" width="560" role="img"><text')
    assert 'aria-label="x &amp; y"' in line_chart(["w"], [], alt="x & y")
