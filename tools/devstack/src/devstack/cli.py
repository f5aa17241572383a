"""`devstack`: the local stack and the platform on it (the entry points of scripts/*.sh and the Makefile).

devstack [--profile dev|test|bench] start|stop|status|env|wipe     the servers (scripts/devstack.sh)
devstack [--profile ...] run|up|down|status                        the platform (make run/up/down/status)
devstack test [PYTEST ARGS...]                                     make test (always the test profile)
devstack pages [--port 9000]                                       make pages: print the pages of make run
devstack mail [--port 2525]                                        make mail: print and keep the email of make run
"""

import os
import sys
from typing import Annotated

import typer

from devstack import mail as mail_sink
from devstack import profiles
from devstack.console import DevstackError, say
from devstack.pages import serve
from devstack.platform import Platform, run_tests
from devstack.stack import Stack

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="The local stack (Kafka + PostgreSQL per profile) and the platform on it.",
)
ProfileName = Annotated[str, typer.Option("--profile", help="dev (make run), test (make test) or bench (make bench)")]


class State:
    profile = "dev"


def current() -> profiles.Profile:
    return profiles.load(State.profile)


@app.callback()
def main_options(profile: ProfileName = "dev") -> None:
    State.profile = profile


@app.command()
def start() -> None:
    """Fetch the Kafka jars once (Maven), start Kafka and PostgreSQL if needed, write <state>/env."""
    Stack(current()).start()


@app.command()
def stop() -> None:
    """Stop the services in <state>/run/*.pid, Kafka and PostgreSQL (harmless when nothing runs)."""
    Stack(current()).stop()


@app.command()
def down() -> None:
    """The same as stop: the services, Kafka and PostgreSQL, each by its own pid."""
    Stack(current()).stop()


@app.command()
def status() -> None:
    """One line per component; exit 0 if Kafka and PostgreSQL are up or external, 3 otherwise."""
    lines, rc = Stack(current()).status()
    typer.echo("\n".join(lines))
    raise typer.Exit(rc)


@app.command()
def env() -> None:
    """Print <state>/env."""
    typer.echo(Stack(current()).env_text(), nl=False)


@app.command()
def wipe() -> None:
    """Stop, then delete the profile's Kafka and PostgreSQL data (keeps the jars and tokens.json)."""
    Stack(current()).wipe()


@app.command()
def up() -> None:
    """The stack, topics and migrations, and the three services in the background; waits until they are healthy."""
    Platform(current()).up()


@app.command()
def run() -> None:
    """The same in the foreground, following the logs; Ctrl-C stops the services (Kafka and PostgreSQL keep running)."""
    Platform(current()).run()


@app.command()
def pages(
    port: Annotated[int, typer.Option(help="where the example directory's webhooks point")] = 9000,
    host: Annotated[str, typer.Option(help="the address to listen on")] = "127.0.0.1",
) -> None:
    """A receiver for the pages and notifications of `make run`: one line each, with a page's acknowledge link."""
    serve(host, port)


@app.command()
def mail(
    port: Annotated[int, typer.Option(help="where the dev profile's SMTP URL points")] = mail_sink.DEFAULT_PORT,
    host: Annotated[str, typer.Option(help="the address to listen on")] = "127.0.0.1",
) -> None:
    """An SMTP sink for the email of `make run`: subject, recipients and links of each message, saved as .eml."""
    mail_sink.serve(current().state / "mail", host, port)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def test(ctx: typer.Context) -> None:
    """Unit and integration tests on a fresh test stack (arguments go to pytest); the stack is stopped afterwards."""
    raise typer.Exit(run_tests(profiles.load("test"), ctx.args))


def main() -> None:
    os.chdir(profiles.ROOT)  # relative paths of the services' defaults (examples/policies/...) are the repository's
    try:
        app()
    except DevstackError as error:
        say(f"devstack[{State.profile}]", f"ERROR: {error}")
        sys.exit(1)
