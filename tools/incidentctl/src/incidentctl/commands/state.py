"""`incidentctl state ID --as-of T`: an incident as it stood at a moment, folded straight from the log."""

import asyncio
import json
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import typer

from incidentctl.logreader import log_progress, read_log
from incidents_shared.domain.codec import decode
from incidents_shared.domain.errors import UndecodableEvent
from incidents_shared.invariants import LogFold
from incidents_shared.settings import CommonSettings, load_settings


async def state_at(settings: CommonSettings, incident_id: UUID, as_of: datetime) -> dict[str, Any] | None:
    """Fold the incident's records in log order, up to the last one the log had received by `as_of`."""
    fold, key = LogFold(), str(incident_id)
    async for _, batch in read_log(settings):
        for record in batch:
            if record.key != key:
                continue
            try:
                recorded = decode(record.value).recorded_at
            except UndecodableEvent:
                recorded = as_of  # poison: the fold parks the incident from here on, as every reader does
            if recorded <= as_of:
                fold.apply(record)
    state = fold.states.get(incident_id)
    return state.model_dump(mode="json") if state is not None else None


def state(
    incident_id: Annotated[UUID, typer.Argument(help="the incident")],
    as_of: Annotated[datetime | None, typer.Option("--as-of", help="ISO 8601 time with offset (default: now)")] = None,
) -> None:
    """Print the incident as it stood at --as-of, as JSON, reconstructed from the log with the shared fold.

    Exits 1 when the incident did not exist yet at that moment.
    """
    when = as_of or datetime.now(UTC)
    if when.tzinfo is None:
        raise typer.BadParameter("give the time with an offset, e.g. 2026-11-27T10:00:00Z", param_hint="--as-of")
    settings = load_settings(CommonSettings)
    with log_progress("folding the log"):
        found = asyncio.run(state_at(settings, incident_id, when))
    if found is None:
        typer.echo(f"incident {incident_id} did not exist at {when.isoformat()}", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps(found, indent=2, sort_keys=True))
