"""The incidentctl application: each command lives in its own module under incidentctl.commands."""

import typer

from incidentctl.commands import audit, directory, drill, rebuild, replay, report, simulate, state, verify

app = typer.Typer(
    name="incidentctl",
    help="Replay the incident log, reconstruct incidents, check the read models against the log, simulate policies.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("replay")(replay.replay)
app.command("state")(state.state)
app.command("verify")(verify.verify)
app.command("rebuild")(rebuild.rebuild)
app.command("simulate")(simulate.simulate_command)
app.command("drill")(drill.drill)
app.command("report")(report.report)
app.add_typer(audit.app, name="audit")
app.add_typer(directory.app, name="directory")


@app.callback()
def main() -> None:
    """Settings come from INCIDENTS_* variables, e.g. `set -a; source .devstack/env; set +a`."""
