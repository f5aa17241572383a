"""The three stacks and every port they use, defined here once.

dev (`make run/up`) keeps its state in .devstack/, test (`make test`) in .devstack/test/, bench (`make bench`) in
.devstack/bench/. Non-default ports keep clear of a system Kafka (9092) or PostgreSQL (5432), and each profile has its
own, so the three can run at once. The services listen on `http_base + offset`; the test and bench profiles sit below
Linux's ephemeral port range, so no outgoing connection can hold one of them.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devstack.console import DevstackError
from incidents_shared import addresses  # the platform's defaults (standard library only)

ROOT = Path(__file__).resolve().parents[4]
DEVSTACK_ROOT = ROOT / ".devstack"
VENV_BIN = ROOT / ".venv" / "bin"

SERVICES = ("projector", "escalator", "command-api")  # start order: the API waits for the projector's verdicts
API, PROJECTOR, ESCALATOR = addresses.API, addresses.PROJECTOR, addresses.ESCALATOR
PORT_OFFSETS = {"command-api": 0, "projector": PROJECTOR - API, "escalator": ESCALATOR - API}
SPARE_OFFSET = 9  # a second instance of a service in a test
PORT_SETTINGS = {
    "command-api": "INCIDENTS_API_PORT",
    "projector": "INCIDENTS_PROJECTOR_HTTP_PORT",
    "escalator": "INCIDENTS_ESCALATOR_HTTP_PORT",
}
DB_NAME = "incidents"
DB_ROLE = "incidents"
# Every profile's receivers are local and plain http: the escalator's target guard allows them here, and only
# here (a deployment without these refuses private targets and http; decision 0079).
LOCAL_TARGETS_ENV = {"INCIDENTS_ALLOW_PRIVATE_TARGETS": "true", "INCIDENTS_ALLOW_HTTP_TARGETS": "true"}
# `make run` sends email to the local sink of `make mail` (devstack.mail): nothing leaves the machine.
DEV_MAIL_ENV = {"INCIDENTS_SMTP_URL": "smtp://127.0.0.1:2525", "INCIDENTS_SMTP_FROM": "incidents@localhost"}
# `make run`'s status page lists the example directory's services (examples/directory.yaml; decision 0081).
DEV_STATUS_ENV = {"INCIDENTS_STATUS_COMPONENTS": "checkout,payments,api-gateway,identity"}


@dataclass(frozen=True)
class Defaults:
    state: Path
    kafka: int
    kafka_controller: int
    postgres: int
    http_base: int
    http_base_env: str | None  # the variable that moves the services' ports of this profile
    fast_postgres: bool  # fsync, synchronous_commit, full_page_writes off: never for `make run`
    internal_partitions: int  # of Kafka's own topics: fewer start faster


DEFAULTS = {
    "dev": Defaults(
        DEVSTACK_ROOT, addresses.KAFKA, addresses.KAFKA_CONTROLLER, addresses.POSTGRES, addresses.API, None, False, 10
    ),
    "test": Defaults(DEVSTACK_ROOT / "test", 29092, 29093, 25432, 28000, "INCIDENTS_TEST_PORT_BASE", True, 5),
    "bench": Defaults(DEVSTACK_ROOT / "bench", 26092, 26093, 26432, 26100, "INCIDENTS_BENCH_PORT_BASE", False, 10),
}


@dataclass(frozen=True)
class Profile:
    """One stack: its state directory, its servers' ports and its services' ports."""

    name: str
    state: Path
    kafka_port: int
    kafka_controller_port: int
    pg_port: int
    http_base: int
    service_ports: Mapping[str, int]
    fast_postgres: bool
    internal_partitions: int

    @property
    def kafka_dir(self) -> Path:
        return self.state / "kafka"

    @property
    def pg_dir(self) -> Path:
        return self.state / "pg"

    @property
    def pg_data(self) -> Path:
        return self.pg_dir / "data"

    @property
    def run_dir(self) -> Path:
        """Pid files of the platform's services (`stop` stops them too)."""
        return self.state / "run"

    @property
    def logs_dir(self) -> Path:
        return self.state / "logs"

    @property
    def env_file(self) -> Path:
        return self.state / "env"

    @property
    def tokens_file(self) -> Path:
        return self.state / "tokens.json"

    @property
    def spare_port(self) -> int:
        return self.http_base + SPARE_OFFSET

    @property
    def bootstrap(self) -> str:
        """This stack's own Kafka."""
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def database_url(self) -> str:
        """This stack's own PostgreSQL."""
        return f"postgresql://{DB_ROLE}@127.0.0.1:{self.pg_port}/{DB_NAME}"

    def with_ports(self, kafka: int | None = None, postgres: int | None = None) -> "Profile":
        """The same profile with the ports a running server recorded (they win over a changed variable)."""
        return Profile(
            self.name,
            self.state,
            kafka or self.kafka_port,
            self.kafka_controller_port,
            postgres or self.pg_port,
            self.http_base,
            self.service_ports,
            self.fast_postgres,
            self.internal_partitions,
        )


def load(name: str, environ: Mapping[str, str] = os.environ) -> Profile:
    """The profile `name` with the INCIDENTS_DEVSTACK_*_PORT (and services' port) overrides applied."""
    if name not in DEFAULTS:
        raise DevstackError(f"unknown profile '{name}' (use dev, test or bench)")
    d = DEFAULTS[name]
    kafka = _port(environ.get("INCIDENTS_DEVSTACK_KAFKA_PORT"), d.kafka)
    controller = _port(environ.get("INCIDENTS_DEVSTACK_KAFKA_CONTROLLER_PORT"), d.kafka_controller)
    postgres = _port(environ.get("INCIDENTS_DEVSTACK_PG_PORT"), d.postgres)
    if kafka == controller:
        raise DevstackError(f"Kafka port and controller port must differ (both {kafka})")
    base = _port(environ.get(d.http_base_env) if d.http_base_env else None, d.http_base)
    ports = {service: base + offset for service, offset in PORT_OFFSETS.items()}
    if name == "dev":  # `make run` honours the services' own port settings
        ports = {s: _port(environ.get(PORT_SETTINGS[s]), p) for s, p in ports.items()}
    return Profile(name, d.state, kafka, controller, postgres, base, ports, d.fast_postgres, d.internal_partitions)


def _port(value: str | None, default: int) -> int:
    if value is None or value == "":
        return default
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise DevstackError(f"invalid port '{value}'")
    return int(value)
