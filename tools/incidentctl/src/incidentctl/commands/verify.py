"""`incidentctl verify`: fold the log and compare it with the read model."""

import asyncio
from typing import Annotated

import typer

from incidentctl.checker import check
from incidentctl.logreader import log_progress
from incidents_shared.settings import CommonSettings, load_settings

MAX_SHOWN = 200


def verify(
    schema: Annotated[str | None, typer.Option(help="the schema holding the read model (default: search_path)")] = None,
) -> None:
    """Replay the log through the fold up to the offsets stored with the read model; list every difference.

    Exits 1 when the read model is not exactly the fold of the log (incidents, versions, revisions, hashes,
    verdicts, parked incidents).
    """
    settings = load_settings(CommonSettings)
    with log_progress("folding the log"):
        report = asyncio.run(check(settings, schema))
    for line in report.differences[:MAX_SHOWN]:
        typer.echo(line)
    if len(report.differences) > MAX_SHOWN:
        typer.echo(f"... and {len(report.differences) - MAX_SHOWN} more")
    typer.echo(
        f"{report.incidents} incidents, {report.verdicts} verdicts, {len(report.differences)} differences", err=True
    )
    raise typer.Exit(0 if report.ok else 1)
