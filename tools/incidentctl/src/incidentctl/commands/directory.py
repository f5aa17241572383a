"""`incidentctl directory apply|export`: the directory (users, teams, services, schedules) as code, over HTTP.

Exit codes: 0 done (or nothing to do), 1 the API refused or could not be reached, 2 the file is not a valid
directory (each problem printed as `FILE:path.to.field: message`).
"""

import hashlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Annotated, NoReturn

import httpx
import structlog
import typer

from incidentctl.directory_api import ApiRefused, DirectoryApi
from incidentctl.directory_diff import Action, Diff, check, diff, idempotency_key, render, summary
from incidentctl.directory_doc import Directory, InvalidDirectory, parse_directory
from incidentctl.directory_file import dump_yaml, load_file
from incidents_shared.addresses import DEFAULT_API_URL
from incidents_shared.logging import configure_logging

log = structlog.get_logger(__name__)
EXIT_REFUSED, EXIT_BAD_FILE = 1, 2
DONE = ((Action.CREATE, "created"), (Action.UPDATE, "changed"), (Action.DELETE, "deleted"))

app = typer.Typer(
    help="The directory as code: apply a YAML file through the command API, or export the directory as one.",
    no_args_is_help=True,
)

Api = Annotated[str, typer.Option("--api", envvar="INCIDENTS_API_URL", help="the command API's base URL")]
Token = Annotated[
    str, typer.Option("--token", envvar="INCIDENTS_TOKEN", help="bearer token (apply needs the admin role)")
]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="log every request (to stderr)")]


def _exit(code: int, *lines: str) -> NoReturn:
    for line in lines:
        typer.echo(line, err=True)
    raise typer.Exit(code)


def _refused(exc: ApiRefused, sent: int | None = None) -> NoReturn:
    lines = [f"refused: {exc.request}: {exc.status} {exc.detail}", *(f"  field {field}" for field in exc.fields)]
    if sent is not None:
        lines.append(f"{sent} command(s) were applied before it; run apply again once the cause is fixed")
    _exit(EXIT_REFUSED, *lines)


@contextmanager
def _api(url: str, token: str, verbose: bool) -> Iterator[DirectoryApi]:
    configure_logging("info" if verbose else "warning")
    if not token:
        _exit(EXIT_REFUSED, "no token: give --token or set INCIDENTS_TOKEN")
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            yield DirectoryApi(client)
    except httpx.HTTPError as exc:
        _exit(EXIT_REFUSED, f"cannot talk to the command API at {url}: {exc}")


def _current(api: DirectoryApi, as_of: datetime | None = None) -> Directory:
    try:
        document = api.fetch(as_of)
    except ApiRefused as exc:
        _refused(exc)
    try:
        return parse_directory(document)
    except InvalidDirectory as exc:
        _exit(EXIT_REFUSED, f"the API's directory is not one this incidentctl reads: {exc}")


def _read(file: Path) -> tuple[Directory, bytes]:
    try:
        return load_file(file)
    except InvalidDirectory as exc:
        _exit(EXIT_BAD_FILE, *(f"{file}:{problem.path}: {problem.message}" for problem in exc.problems))


def _send(api: DirectoryApi, current: Directory, plan: Diff, digest: str, attempt: int) -> int:
    steps = plan.steps()
    try:
        api.pin_all(current, (step.command for step in steps))
    except ApiRefused as exc:
        _refused(exc, 0)
    for sent, step in enumerate(steps):
        key_of = partial(idempotency_key, digest, step.command, attempt=attempt)
        try:
            request = api.send(step.command, key_of)
        except ApiRefused as exc:
            _refused(exc, sent)
        log.info("directory_command_sent", method=request.method, path=request.path, attempt=attempt)
    return len(steps)


def _converge(api: DirectoryApi, current: Directory, plan: Diff, desired: Directory, prune: bool, digest: str) -> int:
    """Send the plan, read the directory again and send what is still missing once more (with new keys): a create
    the API answered from an earlier apply's record (the resource was deleted since) is then really made."""
    sent = _send(api, current, plan, digest, attempt=0)
    current = _current(api)
    if (rest := diff(current, desired, prune)).changes:
        log.warning("directory_apply_second_round", changes=len(rest.changes))
        sent += _send(api, current, rest, digest, attempt=1)
        if (left := diff(_current(api), desired, prune)).changes:
            _exit(EXIT_REFUSED, "the directory still differs from the file after sending everything:", *render(left))
    return sent


def apply(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="the directory's YAML file")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the diff, send nothing")] = False,
    prune: Annotated[bool, typer.Option("--prune", help="also delete what the file does not name")] = False,
    api: Api = DEFAULT_API_URL,
    token: Token = "",
    verbose: Verbose = False,
) -> None:
    """Make the directory what FILE says: print the diff, then send only the commands it needs.

    Resources are compared as validated models, so formatting and defaults are no change; a second apply of the
    same file sends nothing. Users, schedules, teams, services and overrides are created in that order, deletes
    (only with --prune) go the other way. Each command carries an Idempotency-Key made from the file's content,
    the command and the resource's revision, so a re-run after a crash is safe, and an If-Match of that revision.
    """
    desired, content = _read(file)
    with _api(api, token, verbose) as client:
        current = _current(client)
        plan = diff(current, desired, prune)
        for line in render(plan):
            typer.echo(line)
        typer.echo(summary(plan))
        if (refusal := check(current, plan, datetime.now(UTC))) is not None:
            _exit(EXIT_BAD_FILE, f"{file}:{refusal.path}: {refusal.message}")
        if dry_run:
            typer.echo(f"dry run: {len(plan.steps())} command(s) not sent")
        elif plan.changes:
            sent = _converge(client, current, plan, desired, prune, hashlib.sha256(content).hexdigest())
            done = ", ".join(f"{plan.count(action)} {label}" for action, label in DONE)
            typer.echo(f"applied: {sent} command(s) sent ({done}, {plan.unchanged} unchanged)")


def _moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 date-time", param_hint="--as-of") from None
    if moment.tzinfo is None:
        raise typer.BadParameter("give an offset or Z (e.g. 2027-03-01T09:00:00Z)", param_hint="--as-of")
    return moment


def export(
    as_of: Annotated[str | None, typer.Option("--as-of", help="the directory as it stood then (ISO 8601)")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write here instead of stdout")] = None,
    api: Api = DEFAULT_API_URL,
    token: Token = "",
    verbose: Verbose = False,
) -> None:
    """Write the directory (now, or --as-of T) as the YAML file `apply` reads: export, apply = no changes."""
    moment = _moment(as_of)
    with _api(api, token, verbose) as client:
        current = _current(client, moment)
    text = dump_yaml(current)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)
        counts = ", ".join(f"{n} {section}" for section, n in current.counts().items())
        typer.echo(f"wrote {output}: {counts}", err=True)


app.command("apply")(apply)
app.command("export")(export)

__all__ = ["app", "apply", "export"]
