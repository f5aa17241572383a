"""`incidentctl drill`: replay a past incident as a drill through the real command API, time-compressed."""

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import httpx
import structlog
import typer
from rich.progress import Progress

from incidentctl.drill_plan import Step, plan, wait_before
from incidentctl.logreader import read_log
from incidents_shared.addresses import DEFAULT_API_URL
from incidents_shared.domain.codec import decode
from incidents_shared.domain.errors import UndecodableEvent
from incidents_shared.domain.events import EventBase
from incidents_shared.invariants import LogFold
from incidents_shared.logging import configure_logging
from incidents_shared.settings import CommonSettings, load_settings

log = structlog.get_logger(__name__)
TOKEN_ENV = "INCIDENTS_DRILL_TOKEN"  # noqa: S105 (the name of the variable, not a secret)
DEFAULT_API = DEFAULT_API_URL


async def accepted_events(settings: CommonSettings, incident_id: UUID) -> list[EventBase]:
    """The incident's accepted events in version order, judged by the shared fold over the whole log."""
    fold, mine = LogFold(), dict[UUID, EventBase]()
    async for _, batch in read_log(settings):
        for record in batch:
            fold.apply(record)
            if record.key == str(incident_id):
                try:
                    event = decode(record.value)
                except UndecodableEvent:
                    continue
                mine.setdefault(event.event_id, event)
    return [mine[event_id] for _, event_id, _ in sorted(fold.accepted.get(incident_id, []))]


def _token(token_file: Path | None) -> str:
    token = token_file.read_text().strip() if token_file else os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise typer.BadParameter(f"give --token-file or set {TOKEN_ENV}", param_hint="--token-file")
    return token


class DrillRunner:
    """Issues the steps against the command API; the first step creates the drill incident."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.incident_id: str | None = None

    def send(self, step: Step) -> httpx.Response:
        if step.action is None:
            response = self.client.post("/v1/incidents", json=step.body)
            if response.status_code == 201:
                self.incident_id = str(response.json()["incident_id"])
            return response
        return self.client.post(f"/v1/incidents/{self.incident_id}/{step.action}", json=step.body)


def _fail(step: Step, response: httpx.Response) -> None:
    typer.echo(f"step {step.name} ({step.event_type}) refused: {response.status_code} {response.text}", err=True)
    raise typer.Exit(1)


def run_steps(runner: DrillRunner, steps: list[Step], speed: float, say: Any) -> None:
    for index, step in enumerate(steps):
        wait = wait_before(steps, index, speed)
        time.sleep(wait.total_seconds())
        response = runner.send(step)
        if response.status_code >= 300:
            _fail(step, response)
        if index == 0:
            say(f"drill incident {runner.incident_id}")
        log.info(
            "drill_step", step=index + 1, action=step.name, event_type=step.event_type, waited_s=wait.total_seconds()
        )
        say(f"[{index + 1}/{len(steps)}] +{wait.total_seconds():.1f}s {step.name} ({step.event_type})")


def drill(
    source: Annotated[UUID, typer.Option("--from", help="the past incident to replay")],
    speed: Annotated[
        float, typer.Option(min=0, help="time compression: 60 turns an hour into a minute; 0 waits not")
    ] = 60,
    api: Annotated[str, typer.Option(help="the command API's base URL")] = DEFAULT_API,
    token_file: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help=f"bearer token file (else ${TOKEN_ENV})")
    ] = None,
) -> None:
    """Replay a past incident as a drill: a new incident with source `drill`, through the real services.

    The incident's accepted events are read from the log and issued again as commands (logging, triage,
    acknowledgement, notes, holds, manual escalations, updates, resolution, reopening, closing, review), the
    original gaps divided by --speed. The system's own bookkeeping (SLA targets, breaches, notifications, alert
    correlation, policy escalations) is left to the running services. The token must be allowed every step:
    use a manager or admin token. Drills are left out of reports unless they ask for them.
    """
    settings = load_settings(CommonSettings)
    configure_logging(settings.log_level, settings.log_format)  # logs to stderr; stdout is the steps
    token = _token(token_file)
    steps = plan(asyncio.run(accepted_events(settings, source)), source)
    if not steps:
        typer.echo(f"no accepted events of incident {source} in the log", err=True)
        raise typer.Exit(1)
    headers = {"Authorization": f"Bearer {token}"}
    with (
        httpx.Client(base_url=api, headers=headers, timeout=30) as client,
        Progress(transient=True, disable=not sys.stdout.isatty()) as progress,
    ):
        task = progress.add_task("drill", total=len(steps))

        def say(line: str) -> None:
            if sys.stdout.isatty():
                progress.console.print(line, markup=False, highlight=False)
            else:
                typer.echo(line)
            if not line.startswith("drill incident"):
                progress.advance(task)

        run_steps(DrillRunner(client), steps, speed, say)
