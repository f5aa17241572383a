"""One profile's stack: Kafka and PostgreSQL (or the user's own), the tokens and the env file.

When INCIDENTS_KAFKA_BOOTSTRAP / INCIDENTS_DATABASE_URL point somewhere other than this stack's own address, the
matching local server is not started and the env file carries the user's value. `start` writes <state>/env and
<state>/tokens.json (kept once created); `stop` also stops the services whose pid files are in <state>/run/.
"""

import base64
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from devstack import procs, tokens
from devstack.console import DevstackError, say
from devstack.envfile import read_value, write_env
from devstack.kafka import Kafka
from devstack.postgres import Postgres
from devstack.profiles import Profile

SERVICE_STOP_GRACE_S = 15
KAFKA_VAR, DB_VAR, TOKENS_VAR = "INCIDENTS_KAFKA_BOOTSTRAP", "INCIDENTS_DATABASE_URL", "INCIDENTS_TOKENS_FILE"


def random_b64url(n_bytes: int) -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(n_bytes)).decode().rstrip("=")


def redact_url(url: str) -> str:
    """Hide a password in scheme://user:password@host/..."""
    return re.sub(r"(//[^:/@]*):[^@/]*@", r"\1:***@", url)


class Stack:
    """Start, stop, wipe and report one profile's servers."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.kafka = Kafka(profile, self.say)
        self.postgres = Postgres(profile, self.say)

    def say(self, message: str) -> None:
        say(f"devstack[{self.profile.name}]", message)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Serialise start/stop/wipe of one profile (parallel test workers)."""
        with procs.file_lock(self.profile.state / ".lock", 300, "another devstack command"):
            yield

    def external(self, variable: str, own: str) -> str:
        """The user's server for `variable`, or "" when it is unset or names this stack's own."""
        value = os.environ.get(variable, "")
        return value if value and value != own else ""

    def start(self) -> None:
        with self.locked():
            self.profile.run_dir.mkdir(parents=True, exist_ok=True)
            bootstrap = self.external(KAFKA_VAR, self.profile.bootstrap)
            if bootstrap:
                self.say(f"{KAFKA_VAR} is set: using your Kafka at {bootstrap} (local broker not started)")
            else:
                self.kafka.start()
                bootstrap = self.profile.with_ports(kafka=self.kafka.recorded_port()).bootstrap
            database_url = self.external(DB_VAR, self.profile.database_url)
            if database_url:
                self.say(f"{DB_VAR} is set: using your PostgreSQL (local server not started)")
            else:
                database_url = self.profile.with_ports(postgres=self.postgres.start()).database_url
            self.write_tokens()
            values = {KAFKA_VAR: bootstrap, DB_VAR: database_url, TOKENS_VAR: str(self.profile.tokens_file)}
            write_env(self.profile.env_file, values, f"written by devstack --profile {self.profile.name} start")
            self.say(f"env file: {self.profile.env_file}")

    def write_tokens(self) -> None:
        """Named principals, one per role (devstack.tokens, docs/decisions/0089); kept once created."""
        if tokens.ensure_tokens(self.profile.tokens_file):
            self.say(f"wrote {self.profile.tokens_file}")

    def service_pidfiles(self) -> list[Path]:
        run_dir = self.profile.run_dir
        return sorted(run_dir.glob("*.pid")) if run_dir.is_dir() else []

    def stop(self) -> None:
        with self.locked():
            for pidfile in self.service_pidfiles():
                pid = procs.read_pid(pidfile)
                if pid is not None and procs.pid_alive(pid):
                    self.say(f"stopping {pidfile.stem}")
                procs.stop_pidfile(pidfile, SERVICE_STOP_GRACE_S, self.say)
            self.kafka.stop()
            self.postgres.stop()
            self.say("stopped")

    def wipe(self) -> None:
        """Stop, then delete the profile's Kafka and PostgreSQL data (keeps the jars and tokens.json)."""
        self.stop()
        self.say(f"wiping {self.profile.name} data (jars and tokens.json kept)")
        self.kafka.wipe()
        self.postgres.wipe()
        shutil.rmtree(self.profile.run_dir, ignore_errors=True)
        self.profile.env_file.unlink(missing_ok=True)

    def status(self) -> tuple[list[str], int]:
        """One line per component; 0 when Kafka and PostgreSQL are up or external, 3 otherwise."""
        kafka = self.kafka.running_pid(), self.kafka.recorded_port, self.configured(KAFKA_VAR, self.profile.bootstrap)
        pg_pid = self.postgres.running_pid() if self.profile.pg_data.is_dir() else None
        pg = pg_pid, self.postgres.recorded_port, redact_url(self.configured(DB_VAR, self.profile.database_url))
        servers = [_server_line(name, *server) for name, server in (("kafka", kafka), ("postgres", pg))]
        lines = [line for line, _ in servers]
        for pidfile in self.service_pidfiles():
            pid = procs.read_pid(pidfile)
            state = f"up (pid {pid})" if pid is not None and procs.pid_alive(pid) else "down"
            lines.append(f"{pidfile.stem}: {state}")
        return lines, 0 if all(up for _, up in servers) else 3

    def configured(self, variable: str, own: str) -> str:
        """The server the environment or the env file names for `variable`, unless it is this stack's own."""
        value = os.environ.get(variable) or read_value(self.profile.env_file, variable)
        return value if value and value != own else ""

    def env_text(self) -> str:
        if not self.profile.env_file.exists():
            raise DevstackError(
                f"no {self.profile.env_file} yet; run: scripts/devstack.sh --profile {self.profile.name} start"
            )
        return self.profile.env_file.read_text()


def _server_line(name: str, pid: int | None, port: Callable[[], int], external: str) -> tuple[str, bool]:
    """`make status`'s line for a server, and whether it is usable (ours and up, or someone else's)."""
    if pid is not None:
        return f"{name}: up (pid {pid}, 127.0.0.1:{port()})", True
    if external:
        return f"{name}: external ({external})", True
    return f"{name}: down", False
