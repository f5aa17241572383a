"""`incidentctl report`: a self-contained HTML report with charts, from the read models."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import structlog
import typer

from incidentctl.report_data import load_report
from incidentctl.report_html import render
from incidents_shared.logging import configure_logging
from incidents_shared.report_query import Window
from incidents_shared.settings import CommonSettings, load_settings

log = structlog.get_logger(__name__)


def _aware(value: datetime, hint: str) -> datetime:
    if value.tzinfo is None:
        raise typer.BadParameter("needs a UTC offset, e.g. 2026-11-01T00:00:00Z", param_hint=hint)
    return value.astimezone(UTC)


def report(
    since: Annotated[datetime, typer.Option(help="incidents logged at or after (ISO 8601 with offset)")],
    html: Annotated[Path, typer.Option(dir_okay=False, help="the HTML file to write")],
    until: Annotated[datetime | None, typer.Option(help="incidents logged before (default: now)")] = None,
    include_drills: Annotated[bool, typer.Option(help="count drills too")] = False,
) -> None:
    """Write an HTML report: headline figures, MTTA and MTTR per week, breaches by priority, top recurring
    issues and the category mix; one file with inline CSS and SVG that opens offline in any browser.

    Figures follow docs/REPORTS.md (the statements of GET /v1/reports/*), read from PostgreSQL.
    """
    start = _aware(since, "--since")
    end = _aware(until, "--until") if until else datetime.now(UTC)
    if start >= end:
        raise typer.BadParameter("--since must be before --until", param_hint="--since")
    window = Window(start, end, include_drills)
    settings = load_settings(CommonSettings)
    configure_logging(settings.log_level, settings.log_format)
    data = asyncio.run(load_report(settings, window))
    html.write_text(render(data), encoding="utf-8")
    log.info("report_written", path=str(html), incidents=data.headline["total"] if data.headline else 0)
    typer.echo(f"wrote {html}")
