"""The report as one self-contained HTML page: inline CSS and SVG, no scripts, fonts or links to fetch."""

from html import escape
from typing import Any

from incidentctl.report_data import ReportData
from incidents_shared.charts import PALETTE, Series, duration, hbar_chart, line_chart

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px;color:#111827;background:#fff}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}.muted{color:#6b7280}
.kpis{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.kpi{border:1px solid #e5e7eb;border-radius:8px;padding:10px 16px;min-width:120px;background:#f9fafb}
.kpi b{display:block;font-size:24px}.kpi span{font-size:12px;color:#6b7280}
.grid{display:flex;flex-wrap:wrap;gap:24px}section{max-width:600px}
table{border-collapse:collapse;font-size:13px}td,th{border-bottom:1px solid #e5e7eb;padding:4px 10px;text-align:left}
"""


def _kpi(key: str, label: str, value: float | None, shown: str) -> str:
    data = "" if value is None else str(value)  # exact, for machines; `shown` is for people
    body = f"<b>{escape(shown)}</b><span>{escape(label)}</span>"
    return f'<div class="kpi" data-key="{key}" data-value="{data}">{body}</div>'


def headline_html(headline: dict[str, Any] | None) -> str:
    h = headline or {"total": 0, "mtta_seconds": {}, "mttr_seconds": {}, "sla_compliance_pct": None}
    kpis = [_kpi("incidents", "incidents", h["total"], str(h["total"]))]
    for name in ("mtta", "mttr"):
        for q in ("p50", "p90"):
            value = h[f"{name}_seconds"].get(q)
            shown = duration(value) if value is not None else "n/a"
            kpis.append(_kpi(f"{name}_{q}", f"{name.upper()} {q}", value, shown))
    sla = h["sla_compliance_pct"]
    kpis.append(_kpi("sla_compliance_pct", "SLA compliance", sla, "n/a" if sla is None else f"{sla:g}%"))
    return f'<div class="kpis" id="headline">{"".join(kpis)}</div>'


def _section(section_id: str, title: str, body: str, note: str = "") -> str:
    extra = f'<p class="muted">{escape(note)}</p>' if note else ""
    return f'<section id="{section_id}"><h2>{escape(title)}</h2>{extra}{body}</section>'


def weekly_html(weekly: list[dict[str, Any]]) -> str:
    labels = [w["week"][5:] for w in weekly]  # MM-DD of the Monday
    charts = []
    for name, title in (("mtta", "MTTA"), ("mttr", "MTTR")):
        series = [Series(f"{title} {q}", [w[f"{name}_seconds"][q] for w in weekly]) for q in ("p50", "p90")]
        charts.append(f"<h3>{title} per week</h3>{line_chart(labels, series, duration)}")
    note = "Weeks start on Monday (UTC) of logged_at; p50 and p90 as in the summary."
    return _section("mtta-mttr-weekly", "MTTA and MTTR per week", "".join(charts), note)


def breaches_html(by_priority: list[dict[str, Any]]) -> str:
    items = sorted(((g["group"], float(g["breaches"])) for g in by_priority), key=lambda item: item[0])
    return _section("breaches-by-priority", "SLA breaches by priority", hbar_chart(items, color=PALETTE[1]))


def category_html(by_category: list[dict[str, Any]]) -> str:
    items = [(g["group"], float(g["total"])) for g in by_category]
    return _section("category-mix", "Category mix", hbar_chart(items, color=PALETTE[2]), "incidents per category")


def recurring_html(recurring: list[dict[str, Any]]) -> str:
    rows = []
    for g in recurring:
        what = f"dedup key {g['dedup_key']}" if g["by"] == "dedup_key" else f"{g['service']} / {g['category']}"
        cells = (what, str(g["occurrences"]), g["first_seen"][:16], g["last_seen"][:16])
        rows.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    body = "".join(rows) or '<tr><td colspan="4" class="muted">nothing recurred</td></tr>'
    head = "<tr><th>service / category or dedup key</th><th>times</th><th>first</th><th>last</th></tr>"
    table = f"<table>{head}{body}</table>"
    return _section("top-recurring", "Top recurring issues", table, "same service and category, or same dedup key")


def render(data: ReportData) -> str:
    w = data.window
    drills = "drills included" if w.include_drills else "drills excluded"
    span = f"{w.start.isoformat()} to {w.end.isoformat()} (logged_at, {drills})"
    sections = (
        weekly_html(data.weekly),
        breaches_html(data.by_priority),
        category_html(data.by_category),
        recurring_html(data.recurring),
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>Incident report</title>"
        f"<style>{CSS}</style></head><body>"
        f'<h1>Incident report</h1><p class="muted">{escape(span)}</p>'
        f"{headline_html(data.headline)}"
        f'<div class="grid">{"".join(sections)}</div>'
        "</body></html>\n"
    )
