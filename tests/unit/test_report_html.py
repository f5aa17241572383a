"""The report's pure rendering: self-contained HTML, inline SVG charts, exact headline figures, escaping."""

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from incidentctl.report_data import ReportData
from incidentctl.report_html import render
from incidents_shared.charts import Series, duration, hbar_chart, line_chart, nice_max
from incidents_shared.report_query import Window

WINDOW = Window(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 29, tzinfo=UTC))


def _figures(p50: float | None, p90: float | None) -> dict[str, Any]:
    return {"count": 2, "mean": p50, "p50": p50, "p90": p90}


def _group(name: str, total: int, breaches: int) -> dict[str, Any]:
    return {
        "group": name,
        "total": total,
        "breaches": breaches,
        "mtta_seconds": _figures(30.5, 120.25),
        "mttr_seconds": _figures(3600.0, 7200.125),
        "sla_compliance_pct": 66.67,
    }


def _data() -> ReportData:
    weeks = [
        {"week": "2026-11-09", "mtta_seconds": _figures(60, 300), "mttr_seconds": _figures(3600, 9000)},
        {"week": "2026-11-16", "mtta_seconds": _figures(None, None), "mttr_seconds": _figures(None, None)},
        {"week": "2026-11-23", "mtta_seconds": _figures(30, 90), "mttr_seconds": _figures(1800, 5400)},
    ]
    recurring = {"by": "service_category", "service": "checkout", "category": "<software>", "occurrences": 3}
    recurring.update(first_seen="2026-11-10T09:00:00+00:00", last_seen="2026-11-24T09:00:00+00:00")
    return ReportData(
        window=WINDOW,
        headline=_group("all", 7, 2),
        weekly=weeks,
        by_priority=[_group("P2", 4, 1), _group("P1", 3, 1)],
        by_category=[_group("software", 5, 2), _group("(none)", 2, 0)],
        recurring=[recurring, {"by": "dedup_key", "dedup_key": "disk-full", "occurrences": 2, **_seen()}],
    )


def _seen() -> dict[str, str]:
    return {"first_seen": "2026-11-11T09:00:00+00:00", "last_seen": "2026-11-12T09:00:00+00:00"}


def test_page_is_self_contained() -> None:
    page = render(_data())
    assert page.startswith("<!DOCTYPE html>")
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page and "<link" not in page and "url(" not in page


def test_page_has_the_four_sections_with_charts() -> None:
    page = render(_data())
    for section in ("mtta-mttr-weekly", "breaches-by-priority", "top-recurring", "category-mix"):
        assert f'<section id="{section}">' in page
    assert page.count("<svg") == 4
    assert page.count("<polyline") == 4  # p50 and p90 of MTTA and MTTR: the empty week leaves a gap, not a zero
    assert "dedup key disk-full" in page


def test_headline_values_are_exact_and_shown_for_people() -> None:
    page = render(_data())
    values = dict(re.findall(r'data-key="(\w+)" data-value="([^"]*)"', page))
    assert values == {
        "incidents": "7",
        "mtta_p50": "30.5",
        "mtta_p90": "120.25",
        "mttr_p50": "3600.0",
        "mttr_p90": "7200.125",
        "sla_compliance_pct": "66.67",
    }
    assert "<b>1h</b><span>MTTR p50</span>" in page and "<b>66.67%</b>" in page


def test_nothing_in_the_window() -> None:
    page = render(ReportData(window=WINDOW, headline=None))
    assert 'data-key="incidents" data-value="0"' in page
    assert 'data-key="mtta_p50" data-value=""' in page and "n/a" in page
    assert page.count("no data") == 4 and "nothing recurred" in page


def test_text_is_escaped() -> None:
    page = render(_data())
    assert "&lt;software&gt;" in page and "<software>" not in page


def test_bars_are_proportional() -> None:
    svg = hbar_chart([("P1", 5.0), ("P2", 10.0)])
    widths = [float(w) for w in re.findall(r'<rect x="\d+" y="[\d.]+" width="([\d.]+)"', svg)]
    assert widths[1] == pytest.approx(2 * widths[0])


def test_line_chart_puts_higher_values_higher() -> None:
    svg = line_chart(["a", "b"], [Series("s", [1.0, 4.0])])
    ys = [float(y) for y in re.findall(r'<circle cx="[\d.]+" cy="([\d.]+)"', svg)]
    assert ys[0] > ys[1]


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0s"), (0.35, "350ms"), (4.25, "4.2s"), (45, "45s"), (90, "1.5m"), (3600, "1h"), (181_440, "2.1d")],
)
def test_durations(seconds: float, shown: str) -> None:
    assert duration(seconds) == shown


@pytest.mark.parametrize(("value", "top"), [(0, 1), (0.3, 0.5), (7, 10), (12, 20), (150, 200), (1000, 1000)])
def test_axis_maximum_is_round(value: float, top: float) -> None:
    assert nice_max(value) == pytest.approx(top)
