"""`incidentctl simulate`: the log's history replayed under a candidate and the current escalation policy."""

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from incidentctl.logreader import log_progress, read_log
from incidentctl.whatif import render_json, render_text, simulate
from incidents_shared.domain.escalation.policy import Policy
from incidents_shared.domain.escalation.simulation import history
from incidents_shared.domain.record import Record
from incidents_shared.policy_file import DEFAULT_POLICY_FILE, PolicyError, load_policy_file
from incidents_shared.settings import CommonSettings, load_settings


async def _records(settings: CommonSettings) -> list[Record]:
    """The whole log, in order per partition (every earlier event is needed to judge a later one)."""
    records: list[Record] = []
    with log_progress("reading the log"):
        async for _, batch in read_log(settings):
            records.extend(batch)
    return records


def _policy(path: Path, option: str) -> Policy:
    try:
        return load_policy_file(path, os.environ)
    except PolicyError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from exc


def _utc(value: datetime | None) -> datetime | None:
    """A time without an offset is taken as UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _current_file(current: Path | None) -> Path:
    return current or Path(os.environ.get("INCIDENTS_POLICY_FILE") or DEFAULT_POLICY_FILE)


def simulate_command(
    policy: Annotated[Path, typer.Option("--policy", help="the candidate policy file (YAML)")],
    since: Annotated[
        datetime | None, typer.Option(help="only incidents logged at or after this time (ISO 8601; UTC if no offset)")
    ] = None,
    until: Annotated[
        datetime | None,
        typer.Option(
            help="ignore events after this time; open incidents are simulated up to it (default: the last event)"
        ),
    ] = None,
    current: Annotated[
        Path | None,
        typer.Option(
            help="the policy to compare with (default: INCIDENTS_POLICY_FILE, else examples/policies/default.yaml)"
        ),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Replay the log's history under a candidate policy and the current one; report both per priority.

    What people did (logged, prioritized, acknowledged, resolved, ... as the log accepted them) is replayed through
    the escalator's own pure code; the escalator's recorded events are left out and made anew under each policy.
    The clock is the events' occurred_at: timers due before an event fire first, in due order, at their due time
    (a timer due at the very instant of an event fires after it). An incident still open at the end is simulated
    up to --until (default: the time of the last event replayed). --since selects incidents by their logged time.

    Per priority and in total: incidents; pages (notifications that would be sent, one per channel); escalations;
    acknowledge and resolve SLA breaches; unacknowledged (never acknowledged by the end); and time to the right
    responder: from logged to the last escalation at or before the first acknowledgement, or, if nothing was
    escalated by then, to that acknowledgement (unacknowledged incidents have none); median, mean and max in
    seconds. The same log and policies always give the same report.
    """
    if fmt not in ("text", "json"):
        raise typer.BadParameter("use text or json", param_hint="--format")
    policies = {"current": _policy(_current_file(current), "--current"), "candidate": _policy(policy, "--policy")}
    settings = load_settings(CommonSettings)
    histories = history(asyncio.run(_records(settings)))
    report: dict[str, Any] = simulate(histories, policies, _utc(since), _utc(until))
    typer.echo(render_json(report) if fmt == "json" else render_text(report), nl=False)
    typer.echo(f"{report['total']['current']['incidents']} incidents simulated up to {report['until']}", err=True)
