"""`incidentctl audit`: tamper evidence for auditors."""

import asyncio

import typer

from incidentctl.audit import verify as run_verify
from incidentctl.logreader import log_progress
from incidents_shared.settings import CommonSettings, load_settings

app = typer.Typer(
    help="Tamper evidence: hash chains and signed checkpoints, recomputed from the log.", no_args_is_help=True
)


@app.command("verify")
def verify() -> None:
    """Recompute every incident's hash chain and the signed checkpoints from the log and compare.

    Reports the exact incident and version of any edited, deleted or inserted event, and any checkpoint the log
    no longer matches; exits 1 on any finding. Set INCIDENTS_AUDIT_KEY to check the checkpoints' signatures.
    """
    settings = load_settings(CommonSettings)
    with log_progress("recomputing chains from the log"):
        report = asyncio.run(run_verify(settings))
    for finding in report.findings:
        typer.echo(finding)
    summary = f"{report.incidents} incidents, {report.events} accepted events, {report.checkpoints} checkpoints: " + (
        "verified" if report.ok else f"{len(report.findings)} findings"
    )
    typer.echo(summary, err=True)
    raise typer.Exit(0 if report.ok else 1)
