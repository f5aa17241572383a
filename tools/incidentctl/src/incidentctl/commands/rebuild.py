"""`incidentctl rebuild`: project the log into a new schema beside the live read model, then swap."""

import asyncio
from typing import Annotated

import typer

from incidentctl.rebuild import rebuild as run_rebuild
from incidents_shared.settings import CommonSettings, load_settings


def rebuild(
    swap: Annotated[bool, typer.Option(help="swap the rebuilt tables in when the checksums agree")] = True,
    force: Annotated[
        bool, typer.Option(help="swap even when the checksums differ (a read-model definition has changed)")
    ] = False,
    processes: Annotated[
        int | None,
        typer.Option(min=1, help="worker processes that project a large backlog (default: one per CPU)"),
    ] = None,
) -> None:
    """Rebuild the projector's read model from offset 0 while the live projector keeps serving.

    The rebuild catches up with the live projector, then, holding the lock every projector batch takes,
    compares checksums of both (incidents, versions, hashes, verdicts, events) and swaps the tables in one
    transaction. A large backlog is projected by worker processes, split by partition. Exits 1 when the
    checksums differ and nothing was swapped (the rebuilt schema is kept to inspect); `--force` swaps anyway,
    for a changed definition of the read model.
    """
    settings = load_settings(CommonSettings)
    report = asyncio.run(run_rebuild(settings, swap=swap, force=force, processes=processes))
    typer.echo(f"records projected: {report.records}")
    typer.echo(f"live checksum:     {report.live_checksum}")
    typer.echo(f"rebuilt checksum:  {report.rebuilt_checksum}")
    if report.retired is not None:
        typer.echo(f"swapped; the previous tables are in schema {report.retired}")
    else:
        typer.echo(f"not swapped; the rebuilt tables are in schema {report.schema}")
    raise typer.Exit(0 if report.equal or report.retired is not None else 1)
