"""The benchmark's own devstack profile (fresh Kafka + PostgreSQL) and the platform's services on it."""

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devstack import profiles
from devstack.envfile import read_env
from devstack.stack import Stack
from devstack.tokens import read_role_view
from tests.integration.services import BIN, Service

BENCH = profiles.load("bench")
STATE = BENCH.state
# Services listen on PORT_BASE..PORT_BASE+10 (INCIDENTS_BENCH_PORT_BASE moves them, to run two benchmark stacks side
# by side; the devstack's own ports move with INCIDENTS_DEVSTACK_KAFKA_PORT, INCIDENTS_DEVSTACK_KAFKA_CONTROLLER_PORT,
# INCIDENTS_DEVSTACK_PG_PORT).
PORT_BASE = BENCH.http_base
PORTS = dict(BENCH.service_ports)
CRUD_PORT = PORT_BASE + 10


def devstack(action: str) -> None:
    """start, stop or wipe the bench profile's Kafka and PostgreSQL."""
    stack = Stack(BENCH)
    {"start": stack.start, "stop": stack.stop, "wipe": stack.wipe}[action]()


def load_env() -> dict[str, str]:
    return read_env(BENCH.env_file)


@contextmanager
def bench_stack(partitions: int) -> Iterator[dict[str, str]]:
    """Wipe and start the bench profile, create topics and schema, and stop it all afterwards."""
    for key in ("INCIDENTS_KAFKA_BOOTSTRAP", "INCIDENTS_DATABASE_URL", "INCIDENTS_TOKENS_FILE"):
        os.environ.pop(key, None)
    devstack("wipe")
    devstack("start")
    try:
        env = load_env() | {"INCIDENTS_TOPIC_PARTITIONS": str(partitions), "INCIDENTS_LOG_LEVEL": "warning"}
        env |= profiles.LOCAL_TARGETS_ENV  # the receivers are local and http (the target guard, decision 0079)
        os.environ.update(env)
        subprocess.run(
            [str(BIN / "incidents-admin"), "init"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        yield env
    finally:
        devstack("stop")


def tokens() -> dict[str, str]:
    """role -> token of the devstack's named principals (decision 0089)."""
    return read_role_view(Path(os.environ["INCIDENTS_TOKENS_FILE"]))


def service(name: str) -> Service:
    return Service(name, PORTS[name])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0
