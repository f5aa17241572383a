"""`incidentctl replay`: events from the log by time range, incident and type, with their verdicts."""

import asyncio
import csv
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TextIO
from uuid import UUID

import typer

from incidentctl.logreader import log_progress, read_log
from incidents_shared.domain.record import Record
from incidents_shared.invariants import LogFold
from incidents_shared.settings import CommonSettings, load_settings

CSV_FIELDS = (
    "partition",
    "offset",
    "event_id",
    "incident_id",
    "type",
    "occurred_at",
    "recorded_at",
    "actor_id",
    "verdict",
    "reason",
    "version",
)


class Replayer:
    """Folds the whole log in order (the shared LogFold, parking included), so every record carries the verdict
    every reader reaches."""

    def __init__(self) -> None:
        self.fold = LogFold()

    def verdict_row(self, record: Record) -> dict[str, Any]:
        applied = self.fold.apply(record)
        row: dict[str, Any] = {"partition": record.partition, "offset": record.offset, "incident_id": record.key}
        if applied.event is not None:
            row |= applied.event.model_dump(mode="json")
        if applied.parked is not None or applied.verdict is None:
            return row | {"verdict": "parked", "reason": applied.parked}
        verdict = applied.verdict
        return row | {"verdict": verdict.kind.value, "reason": verdict.reason, "version": verdict.version}


def _keep(row: dict[str, Any], incident: UUID | None, types: list[str], include_rejected: bool) -> bool:
    if incident is not None and row.get("incident_id") != str(incident):
        return False
    if types and row.get("type") not in types:
        return False
    return include_rejected or row["verdict"] == "accepted"


async def _replay(
    settings: CommonSettings,
    out: TextIO,
    fmt: str,
    since: datetime | None,
    until: datetime | None,
    incident: UUID | None,
    types: list[str],
    include_rejected: bool,
) -> int:
    replayer, written = Replayer(), 0
    writer = csv.DictWriter(out, CSV_FIELDS, extrasaction="ignore") if fmt == "csv" else None
    if writer is not None:
        writer.writeheader()
    with log_progress("replaying"):
        async for span, batch in read_log(settings, since, until):
            for record in batch:
                row = replayer.verdict_row(record)
                if not span.in_range(record) or not _keep(row, incident, types, include_rejected):
                    continue
                if writer is not None:
                    writer.writerow({**row, "actor_id": (row.get("actor") or {}).get("id")})
                else:
                    out.write(json.dumps(row, sort_keys=True) + "\n")
                written += 1
    return written


def replay(
    since: Annotated[datetime | None, typer.Option(help="first broker time to include (ISO 8601)")] = None,
    until: Annotated[datetime | None, typer.Option(help="broker time to stop before (ISO 8601)")] = None,
    incident: Annotated[UUID | None, typer.Option(help="only this incident")] = None,
    event_type: Annotated[list[str] | None, typer.Option("--type", help="only these event types")] = None,
    include_rejected: Annotated[bool, typer.Option(help="also rejected events (with their reason)")] = False,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="file to write (default stdout)")] = None,
) -> None:
    """Write events from the log with their verdicts, as JSON lines or CSV.

    Verdicts come from folding the log from its beginning with the same code the services use, so they are
    the log's own verdicts, not the read model's. Times select by the broker's record timestamps.
    """
    if fmt not in ("jsonl", "csv"):
        raise typer.BadParameter("use jsonl or csv", param_hint="--format")
    settings = load_settings(CommonSettings)
    out = output.open("w", newline="") if output else sys.stdout
    try:
        rows = asyncio.run(_replay(settings, out, fmt, since, until, incident, event_type or [], include_rejected))
    finally:
        if output:
            out.close()
    typer.echo(f"{rows} events", err=True)
