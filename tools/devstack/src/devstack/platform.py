"""The platform on a profile's stack: `make run`, `make up`, `make test`.

Prepare (the stack, its env file in this process's environment, the audit key pair, topics and migrations through
`incidents-admin init`), then the three services with pid files in <state>/run and logs in <state>/logs.
"""

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from devstack import procs, tokens
from devstack.console import DevstackError, say
from devstack.envfile import read_env, write_env
from devstack.profiles import (
    DEV_MAIL_ENV,
    DEV_STATUS_ENV,
    LOCAL_TARGETS_ENV,
    PORT_SETTINGS,
    ROOT,
    SERVICES,
    VENV_BIN,
    Profile,
)
from devstack.service import Service
from devstack.stack import DB_VAR, KAFKA_VAR, SERVICE_STOP_GRACE_S, TOKENS_VAR, Stack
from incidents_shared.audit import SigningKey, public_key_text

HEALTH_TIMEOUT_S = 90
DIRECTORY_FILE = ROOT / "examples" / "directory.yaml"  # loaded by `make run` / `make up` (dev profile only)


class Platform:
    """The services of one profile, started in the background with pid files (stopped by `devstack stop`)."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.stack = Stack(profile)

    def say(self, message: str) -> None:
        say("platform", message)

    def prepare(self) -> None:
        self.stack.start()
        os.environ.update(read_env(self.profile.env_file))
        audit_keys(self.profile.state)
        public = {"INCIDENTS_AUDIT_PUBLIC_KEYS": os.environ["INCIDENTS_AUDIT_PUBLIC_KEYS"]}  # for `audit verify`
        env = read_env(self.profile.env_file) | public
        write_env(self.profile.env_file, env, f"written by devstack --profile {self.profile.name} start and up")
        if not os.environ.get("INCIDENTS_PAGE_LINK_KEYS"):  # signs page links; kept with the stack, like the audit key
            os.environ["INCIDENTS_PAGE_LINK_KEYS"] = f"dev:{kept_secret(self.profile.state / 'page-link.key')}"
        default_env("INCIDENTS_PUBLIC_URL", f"http://127.0.0.1:{self.profile.service_ports['command-api']}")
        for variable, value in LOCAL_TARGETS_ENV.items():  # the escalator's target guard (decision 0079)
            default_env(variable, value)
        if self.profile.name == "dev":  # the example directory's catch-all team (examples/directory.yaml)
            default_env("INCIDENTS_DEFAULT_TEAM", "platform")
            for variable, value in (DEV_MAIL_ENV | DEV_STATUS_ENV).items():  # email to `make mail` (devstack.mail)
                default_env(variable, value)
        admin_init()

    def start_service(self, name: str) -> None:
        pidfile = self.profile.run_dir / f"{name}.pid"
        running = procs.read_pid(pidfile)
        if running is not None and procs.pid_alive(running):
            self.say(f"{name} already running (pid {running})")
            return
        port = self.profile.service_ports[name]
        if procs.port_accepts(port):
            raise DevstackError(
                f"port {port} (for {name}) is already in use by another program; set {PORT_SETTINGS[name]}"
            )
        log_format = os.environ.get("INCIDENTS_LOG_FORMAT") or "json"
        env = {"INCIDENTS_LOG_FORMAT": log_format}
        service = Service(name, port, env, log_dir=self.profile.logs_dir, log_name=f"{name}.log", detach=True)
        service.launch()
        assert service.process is not None
        procs.write_pid(pidfile, service.process.pid)
        service.wait_healthy(HEALTH_TIMEOUT_S)
        self.say(f"{name} up (pid {service.process.pid}, {service.url})")

    def start_services(self) -> None:
        for name in SERVICES:
            self.start_service(name)
        if self.profile.name == "dev":
            self.load_directory()

    def load_directory(self) -> None:
        """The example directory through the API with the admin token (idempotent: a second start sends nothing)."""
        token = tokens.read_role_view(self.profile.tokens_file).get("admin", "")
        api = f"http://127.0.0.1:{self.profile.service_ports['command-api']}"
        command = [str(VENV_BIN / "incidentctl"), "directory", "apply", str(DIRECTORY_FILE), "--api", api]
        env = {**os.environ, "INCIDENTS_TOKEN": token}
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
        where = DIRECTORY_FILE.relative_to(ROOT)
        if done.returncode == 0:
            self.say(f"directory from {where}: {(done.stdout.strip().splitlines() or ['loaded'])[-1]}")
        else:
            problem = " | ".join(done.stderr.strip().splitlines()[-3:])
            self.say(f"directory from {where} NOT loaded (incidentctl exit {done.returncode}): {problem}")

    def stop_services(self) -> None:
        for name in reversed(SERVICES):
            procs.stop_pidfile(self.profile.run_dir / f"{name}.pid", SERVICE_STOP_GRACE_S, self.say)

    def banner(self) -> str:
        api, projector, escalator = (self.profile.service_ports[s] for s in ("command-api", "projector", "escalator"))
        state = self.profile.state
        lines = [
            "",
            "  Incident platform is up.",
            f"    API:        http://127.0.0.1:{api}   (docs: http://127.0.0.1:{api}/docs)",
            f"    projector:  http://127.0.0.1:{projector}/healthz",
            f"    escalator:  http://127.0.0.1:{escalator}/healthz",
            f"    console:    http://127.0.0.1:{api}/console/   (sign in with a personal token: README, the console)",
            f"    status:     http://127.0.0.1:{api}/status   (public; email goes to `make mail`)",
            f"    env:        {state}/env   (source it to use incidentctl / the services' settings)",
            f"    tokens:     {state}/tokens.json   (devstack tokens, printed here only: a deployment keeps hashes)",
        ]
        named = tokens.read_named(self.profile.tokens_file)
        lines += [f"      {name:<16} {entry['role']:<12} {entry['token']}" for name, entry in named.items()]
        return "\n".join([*lines, "", ""])

    def up(self) -> None:
        self.prepare()
        self.start_services()
        sys.stdout.write(self.banner())

    def run(self) -> None:
        """Everything in the foreground, following the logs; Ctrl-C stops the services (not Kafka, PostgreSQL)."""
        self.prepare()
        with stopped_by_signals():
            try:
                self.start_services()
                sys.stdout.write(self.banner())
                sys.stdout.flush()
                self.say("following the service logs; Ctrl-C stops the services")
                logs = [
                    str(self.profile.logs_dir / f"{name}.log") for name in ("projector", "escalator", "command-api")
                ]
                follower = subprocess.Popen(["tail", "-n", "0", "-F", *logs])
                try:
                    follower.wait()
                finally:
                    follower.terminate()
            except KeyboardInterrupt:
                pass
            finally:
                self.say("stopping services")
                self.stop_services()


def kept_secret(path: Path) -> str:
    """A random hex secret stored in `path` (owner-only), made the first time."""
    if not path.exists() or not path.stat().st_size:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


def audit_keys(state: Path) -> None:
    """The audit checkpoints' Ed25519 key pair, made once and kept with the stack (docs/decisions/0082): the
    private key's file for the projector only (Service drops it for the others), the public key for everyone."""
    default_env("INCIDENTS_AUDIT_SIGNING_KEY_FILE", str(state / "audit-signing.pem"))
    path = Path(os.environ["INCIDENTS_AUDIT_SIGNING_KEY_FILE"])
    if not path.exists() or not path.stat().st_size:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(SigningKey.generate().pem())
    default_env("INCIDENTS_AUDIT_PUBLIC_KEYS", public_key_text(SigningKey.from_pem(path.read_bytes()).public))


def admin_init() -> None:
    """Topics and migrations (idempotent), with the settings in this process's environment."""
    if subprocess.run([str(VENV_BIN / "incidents-admin"), "init"], check=False).returncode != 0:
        raise DevstackError("incidents-admin init failed (topics and migrations); see above")


def default_env(variable: str, value: str) -> None:
    """Set `variable` unless the caller gave it a non-empty value (sh's ${VAR:-value})."""
    if not os.environ.get(variable):
        os.environ[variable] = value


@contextmanager
def stopped_by_signals() -> Iterator[None]:
    """SIGTERM ends the block like Ctrl-C does: the normal way to stop `make run`."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_tests(profile: Profile, pytest_args: Sequence[str]) -> int:
    """`make test`: a fresh test stack (unless INCIDENTS_TEST_WIPE=0), pytest on it, the stack stopped at the end."""
    stack = Stack(profile)
    # The test stack's own servers, never a user's: ignore INCIDENTS_* from the caller's environment.
    for variable in (KAFKA_VAR, DB_VAR, TOKENS_VAR):
        os.environ.pop(variable, None)
    if os.environ.get("INCIDENTS_TEST_WIPE", "1") == "1":
        stack.wipe()
    with stopped_by_signals():
        try:
            stack.start()
            os.environ.update(read_env(profile.env_file))
            default_env("INCIDENTS_TOPIC_PARTITIONS", "4")
            # Signed audit checkpoints every second, with the test stack's key pair.
            audit_keys(profile.state)
            default_env("INCIDENTS_AUDIT_CHECKPOINT_S", "1")
            # Page links signed with a key of this run only, pointing at the test stack's command API.
            default_env("INCIDENTS_PAGE_LINK_KEYS", f"test:{secrets.token_hex(32)}")
            default_env("INCIDENTS_PUBLIC_URL", f"http://127.0.0.1:{profile.service_ports['command-api']}")
            for variable, value in LOCAL_TARGETS_ENV.items():  # the escalator's target guard (decision 0079)
                default_env(variable, value)
            admin_init()
            return subprocess.run([str(VENV_BIN / "python"), "-m", "pytest", *pytest_args], cwd=ROOT).returncode
        finally:
            stack.stop()
