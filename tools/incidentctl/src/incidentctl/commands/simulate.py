"""`incidentctl simulate`: the log's history replayed under a candidate and the current escalation policy."""

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from incidentctl import rota_whatif
from incidentctl.commands.simulate_alerts import alert_report, echo_alert_report
from incidentctl.directory_doc import Directory, InvalidDirectory
from incidentctl.directory_file import load_file
from incidentctl.logreader import log_progress, read_log
from incidentctl.whatif import render_json, render_text, simulate
from incidents_shared.directory_log import read_directory
from incidents_shared.domain.directory import DirectoryState
from incidents_shared.domain.escalation.policy import Policy
from incidents_shared.domain.escalation.simulation import history
from incidents_shared.domain.record import Record
from incidents_shared.domain.timeutil import format_utc
from incidents_shared.logging import configure_logging
from incidents_shared.policy_file import DEFAULT_POLICY_FILE, PolicyError, load_policy_file
from incidents_shared.settings import CommonSettings, load_settings

EXIT_UNREADABLE, EXIT_BAD_FILE = 1, 2
Window = tuple[datetime | None, datetime | None]


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


def _candidate_file(path: Path) -> Directory:
    """The candidate file, checked before the log is read (each problem as `FILE:path.to.field: message`)."""
    try:
        return load_file(path)[0]
    except InvalidDirectory as exc:
        _exit(EXIT_BAD_FILE, *(f"{path}:{problem.path}: {problem.message}" for problem in exc.problems))


def _candidate_rota(
    path: Path, file: Directory, current: DirectoryState, prune: bool, now: datetime
) -> tuple[DirectoryState, str]:
    """The candidate directory: what `directory apply PATH [--prune]` would make of the current one."""
    try:
        candidate = rota_whatif.candidate_directory(current, file, prune, now)
    except rota_whatif.CandidateRefused as exc:
        _exit(EXIT_BAD_FILE, f"{path}:{exc.path}: {exc.message} (directory apply would refuse it)")
    kept = "nothing else (--prune)" if prune else "what it does not name kept as it is"
    return candidate, f"{path} applied over the current one ({kept})"


async def _log_and_directory(settings: CommonSettings) -> tuple[list[Record], DirectoryState]:
    records = await _records(settings)
    try:
        with log_progress("reading the directory"):
            return records, await read_directory(settings)
    except TimeoutError:
        _exit(EXIT_UNREADABLE, f"cannot read the directory topic {settings.directory_topic} in time")


def _exit(code: int, *lines: str) -> NoReturn:
    for line in lines:
        typer.echo(line, err=True)
    raise typer.Exit(code)


def _night(text: str) -> rota_whatif.Night:
    try:
        return rota_whatif.Night.parse(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--night") from exc


def _rota_report(
    policies: dict[str, Policy], candidate_file: Path, prune: bool, night: rota_whatif.Night, window: Window
) -> dict[str, Any]:
    file = _candidate_file(candidate_file)
    settings = load_settings(CommonSettings)
    configure_logging(settings.log_level, settings.log_format)  # to stderr: stdout is the report
    records, current = asyncio.run(_log_and_directory(settings))
    now = datetime.now(UTC)
    candidate, described = _candidate_rota(candidate_file, file, current, prune, now)
    sides = {
        "current": rota_whatif.Side(
            policies["current"], current, f"the directory topic at the end of the log, read {format_utc(now)} "
            "(not as it stood at each incident)", settings.default_team),
        "candidate": rota_whatif.Side(policies["candidate"], candidate, described, settings.default_team),
    }  # fmt: skip
    return rota_whatif.simulate_rotas(history(records), sides, *window, night)


def simulate_command(
    policy: Annotated[Path | None, typer.Option("--policy", help="the candidate policy file (YAML)")] = None,
    directory: Annotated[
        Path | None,
        typer.Option(
            "--directory",
            exists=True,
            dir_okay=False,
            help="a candidate directory file (the YAML `incidentctl directory apply` reads): compare the rota",
        ),
    ] = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="with --directory: the candidate is the file alone, as apply --prune")
    ] = False,
    night: Annotated[
        str, typer.Option("--night", help="with --directory: local hours that count as night, HH:MM-HH:MM")
    ] = "22:00-07:00",
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
    alert_mapping: Annotated[
        Path | None,
        typer.Option("--alert-mapping", help="a candidate alert mapping file: compare incidents and pages of alerts"),
    ] = None,
    current_alert_mapping: Annotated[
        Path | None,
        typer.Option(help="with --alert-mapping: the mapping to compare with (default: INCIDENTS_ALERT_MAPPING_FILE)"),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
    as_json: Annotated[bool, typer.Option("--json", help="the same as --format json")] = False,
) -> None:
    """Replay the log's history under a candidate policy and/or a candidate directory and the current ones.

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

    With --directory (alone, the policy is the current one on both sides): the current directory is the one at
    the end of the log, not as it stood at each incident; the candidate is what `directory apply FILE` would
    make of it. Whoever is on call when a step fires is paged. Per person: pages (accepted incident.paged, one
    per contact method), pages at --night in their own time zone, distinct incidents; per schedule: gaps in the
    simulated span (count, total time) and escalations that fell through because of a gap.

    With --alert-mapping (alone): the alerts recorded on incidents replayed under its grouping rules and the
    current mapping's; incidents opened and pages (approximate: see the report) per priority (decision 0077).
    """
    if fmt not in ("text", "json"):
        raise typer.BadParameter("use text or json", param_hint="--format")
    if policy is None and directory is None and alert_mapping is None:
        raise typer.BadParameter(
            "give a candidate: --policy FILE, --directory FILE or both, or --alert-mapping FILE", param_hint="--policy"
        )
    fmt = "json" if as_json else fmt
    in_force = _policy(_current_file(current), "--current")
    if alert_mapping is not None:
        report = alert_report(alert_mapping, current_alert_mapping, in_force, _utc(since), _utc(until))
        echo_alert_report(report, fmt)
        return
    policies = {"current": in_force, "candidate": _policy(policy, "--policy") if policy else in_force}
    window = (_utc(since), _utc(until))
    if directory is not None:
        report = _rota_report(policies, directory, prune, _night(night), window)
        typer.echo(render_json(report) if fmt == "json" else rota_whatif.render_text(report), nl=False)
    else:
        settings = load_settings(CommonSettings)
        histories = history(asyncio.run(_records(settings)))
        report = simulate(histories, policies, *window)
        typer.echo(render_json(report) if fmt == "json" else render_text(report), nl=False)
    typer.echo(f"{report['total']['current']['incidents']} incidents simulated up to {report['until']}", err=True)
