"""Faults on the test profile's own Kafka and PostgreSQL: pause, stop, restart, each by its own PID."""

import contextlib
import os
import signal
from collections.abc import Iterator

from devstack import procs, profiles
from devstack.console import say
from devstack.postgres import Postgres
from devstack.stack import Stack as Devstack

TEST = profiles.load("test")
STATE = TEST.state


def _say(message: str) -> None:
    say("faults", message)


class Stack:
    """The broker and the database of `make test`, which these tests may hurt and must heal."""

    @property
    def kafka_pid(self) -> int:
        pid = procs.read_pid(TEST.kafka_dir / "kafka.pid")
        if pid is None:
            raise RuntimeError(f"no Kafka pid in {TEST.kafka_dir / 'kafka.pid'}")
        return pid

    def pause_kafka(self) -> None:
        os.kill(self.kafka_pid, signal.SIGSTOP)

    def resume_kafka(self) -> None:
        os.kill(self.kafka_pid, signal.SIGCONT)

    def stop_kafka(self) -> None:
        pid = self.kafka_pid
        os.kill(pid, signal.SIGTERM)
        if not procs.wait_dead(pid, 30, 0.1):
            raise TimeoutError("Kafka did not stop within 30 s")

    def stop_postgres_immediately(self) -> None:
        if not Postgres(TEST, _say).pg_ctl_stop("immediate", 60):
            raise RuntimeError("pg_ctl -m immediate stop failed")

    def start_missing(self) -> None:
        """Start whatever of Kafka and PostgreSQL is down (the devstack start is idempotent)."""
        Devstack(TEST).start()


@contextlib.contextmanager
def paused(pids: list[int]) -> Iterator[None]:
    """SIGSTOP these processes for the block, SIGCONT them after it whatever happens."""
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
