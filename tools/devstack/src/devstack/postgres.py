"""A private PostgreSQL 15 cluster per profile (initdb + pg_ctl), trust authentication on 127.0.0.1 only.

initdb and postgres refuse to run as root: as root, the cluster belongs to the postgres user (runuser).
"""

import os
import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from devstack import procs
from devstack.console import DevstackError, tail
from devstack.profiles import DB_NAME, DB_ROLE, DEVSTACK_ROOT, Profile

FAST = ("-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off")  # tests only, never `make run`
PORT_HINT = "stop that process or choose another port with the INCIDENTS_DEVSTACK_*_PORT variables"


def pg_bin() -> Path:
    return Path(os.environ.get("INCIDENTS_DEVSTACK_PG_BIN", "/usr/lib/postgresql/15/bin"))


def is_root() -> bool:
    return os.geteuid() == 0


def as_pg(argv: list[str]) -> list[str]:
    """A server binary's command line, run as the postgres user when we are root."""
    return ["runuser", "-u", "postgres", "--", *argv] if is_root() else argv


class Postgres:
    """The cluster of one profile."""

    def __init__(self, profile: Profile, say: Callable[[str], None]) -> None:
        self.profile, self.say = profile, say
        self.dir, self.data, self.bin = profile.pg_dir, profile.pg_data, pg_bin()
        self.portfile = self.dir / "port"

    def running_pid(self) -> int | None:
        """The postmaster's pid if our cluster runs; a stale postmaster.pid is removed."""
        pidfile = self.data / "postmaster.pid"
        if not pidfile.exists():
            return None
        pid = procs.read_pid(pidfile)
        if pid is not None and procs.pid_matches(pid, str(self.data)):
            return pid
        self.say(f"removing stale {pidfile}")
        pidfile.unlink(missing_ok=True)
        return None

    def recorded_port(self) -> int:
        text = self.portfile.read_text().strip() if self.portfile.exists() else ""
        return int(text) if text.isdigit() else self.profile.pg_port

    def start(self) -> int:
        """Start the cluster unless it runs, then make the role and database; returns the port it listens on."""
        self.check_binaries()
        pid = self.running_pid()
        if pid is not None:
            port = self.recorded_port()
            self.say(f"postgres already running (pid {pid}, 127.0.0.1:{port})")
        else:
            port = self.profile.pg_port
            procs.require_free_port(port, "PostgreSQL", PORT_HINT)
            self.init_cluster()
            self.launch(port)
        self.ensure_database(port)
        return port

    def check_binaries(self) -> None:
        for name in ("initdb", "pg_ctl", "postgres", "psql"):
            if not os.access(self.bin / name, os.X_OK):
                raise DevstackError(
                    f"PostgreSQL 15 binaries missing: no {self.bin / name} (Debian: apt-get install postgresql-15; "
                    "or set INCIDENTS_DATABASE_URL to your own server, or INCIDENTS_DEVSTACK_PG_BIN)"
                )
        if is_root():
            if subprocess.run(["id", "-u", "postgres"], capture_output=True, check=False).returncode != 0:
                raise DevstackError(
                    "running as root but there is no 'postgres' user to own the cluster (initdb refuses root)"
                )
            if shutil.which("runuser") is None:
                raise DevstackError("running as root but 'runuser' is missing")

    def init_cluster(self) -> None:
        owner = ["-o", "postgres"] if is_root() else []
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o755)
        subprocess.run(["install", "-d", *owner, "-m", "700", str(self.data)], check=True)
        subprocess.run(
            ["install", "-d", *owner, "-m", "755", str(self.dir / "sock"), str(self.dir / "log")], check=True
        )
        self.ensure_traversable()
        if (self.data / "PG_VERSION").exists():
            return
        locale = pg_locale()
        self.say(f"initdb {self.data} (locale {locale})")
        log = self.dir / "initdb.log"
        command = [str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"]
        if not procs.run_logged(as_pg([*command, "--encoding=UTF8", f"--locale={locale}"]), log):
            tail(log)
            raise DevstackError(f"initdb failed; see {log}")

    def ensure_traversable(self) -> None:
        """The postgres user must enter every parent of the data dir: fixed inside .devstack, reported outside."""
        if not is_root():
            return
        for parent in reversed(self.data.parents):  # from / downwards: the first refusal names the culprit
            test = ["runuser", "-u", "postgres", "--", "test", "-x", str(parent)]
            if subprocess.run(test, capture_output=True, check=False).returncode == 0:
                continue
            if parent == DEVSTACK_ROOT or DEVSTACK_ROOT in parent.parents:
                parent.chmod(parent.stat().st_mode | 0o001)
            else:
                raise DevstackError(
                    f"the postgres user cannot enter {parent} (needed to reach {self.data}); fix: chmod o+x {parent}"
                    "  (or set INCIDENTS_DATABASE_URL to your own server)"
                )

    def server_options(self, port: int) -> str:
        options = [f"-p {port}", f"-k {shlex.quote(str(self.dir / 'sock'))}", "-c listen_addresses=127.0.0.1"]
        if self.profile.fast_postgres:
            options.extend(FAST)
        # Extra server options, e.g. "-c shared_preload_libraries=pg_stat_statements" (bench/profiles/postgres.md).
        extra = os.environ.get("INCIDENTS_DEVSTACK_PG_OPTIONS", "")
        return " ".join([*options, extra] if extra else options)

    def launch(self, port: int) -> None:
        log = self.dir / "log" / "postgres.log"
        offset = log.stat().st_size if log.exists() else 0
        self.say(f"starting postgres on 127.0.0.1:{port}")
        command = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", self.server_options(port), "-l", str(log)]
        if not procs.run_logged(as_pg([*command, "-w", "-t", "60", "start"]), self.dir / "pg_ctl.out"):
            self.print_start_failure(log, offset)
            raise DevstackError(f"postgres did not start on port {port}; see {log}")
        self.portfile.write_text(f"{port}\n")
        self.say(f"postgres up (pid {self.running_pid()}, 127.0.0.1:{port})")

    def print_start_failure(self, log: Path, offset: int) -> None:
        tail(log, 30, offset)  # this start's lines only
        tail(self.dir / "pg_ctl.out", 5)

    def psql(self, sql: str, port: int) -> str:
        """SQL on the `postgres` database as the postgres role over TCP; tuples only."""
        command = [str(self.bin / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(port)]
        done = subprocess.run(
            [*command, "-U", "postgres", "-d", "postgres", "-tA", "-c", sql], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise DevstackError(f"psql failed on port {port}: {done.stderr.strip()}")
        return done.stdout.strip()

    def ensure_database(self, port: int) -> None:
        """Role and database `incidents` (idempotent)."""
        if self.psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{DB_ROLE}'", port) != "1":
            self.psql(f"CREATE ROLE {DB_ROLE} LOGIN", port)
            self.say(f"created role {DB_ROLE}")
        if self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}'", port) != "1":
            self.psql(f"CREATE DATABASE {DB_NAME} OWNER {DB_ROLE} ENCODING 'UTF8' TEMPLATE template0", port)
            self.say(f"created database {DB_NAME}")

    def stop(self, mode: str = "fast") -> None:
        pid = self.running_pid()
        if pid is None:
            return
        self.say(f"stopping postgres (pid {pid})")
        pg_ctl = self.bin / "pg_ctl"
        if not os.access(pg_ctl, os.X_OK):
            raise DevstackError(f"postgres (pid {pid}) runs but {pg_ctl} is missing; cannot stop it cleanly")
        if self.pg_ctl_stop(mode, 60):
            return
        self.say(f"pg_ctl -m {mode} stop failed; trying immediate")
        if not self.pg_ctl_stop("immediate", 30):
            raise DevstackError(f"could not stop postgres (pid {pid})")

    def pg_ctl_stop(self, mode: str, timeout_s: int) -> bool:
        command = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", str(timeout_s), "stop"]
        return subprocess.run(as_pg(command), capture_output=True, check=False).returncode == 0

    def wipe(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def pg_locale() -> str:
    out = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False).stdout
    return "C.UTF-8" if any(line.lower() in ("c.utf-8", "c.utf8") for line in out.splitlines()) else "C"
