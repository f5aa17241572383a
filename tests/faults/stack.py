"""Faults on the test profile's own Kafka and PostgreSQL: pause, stop, restart, each by its own PID."""

import os
import signal
import subprocess
import time
from pathlib import Path

from tests.integration.services import ROOT

STATE = ROOT / ".devstack" / "test"
PG_BIN = Path(os.environ.get("INCIDENTS_DEVSTACK_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _pid(path: Path) -> int:
    return int(path.read_text().split()[0])


class Stack:
    """The broker and the database of `make test`, which these tests may hurt and must heal."""

    @property
    def kafka_pid(self) -> int:
        return _pid(STATE / "kafka" / "kafka.pid")

    def pause_kafka(self) -> None:
        os.kill(self.kafka_pid, signal.SIGSTOP)

    def resume_kafka(self) -> None:
        os.kill(self.kafka_pid, signal.SIGCONT)

    def stop_kafka(self) -> None:
        pid = self.kafka_pid
        os.kill(pid, signal.SIGTERM)
        for _ in range(300):
            if not Path(f"/proc/{pid}").exists() or "zombie" in _state(pid):
                return
            time.sleep(0.1)
        raise TimeoutError("Kafka did not stop within 30 s")

    def stop_postgres_immediately(self) -> None:
        data = STATE / "pg" / "data"
        command = [str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True)

    def start_missing(self) -> None:
        """Start whatever of Kafka and PostgreSQL is down (the devstack start is idempotent)."""
        subprocess.run(
            [str(ROOT / "scripts" / "devstack.sh"), "--profile", "test", "start"], check=True, capture_output=True
        )


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "zombie"
