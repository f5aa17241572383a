"""Start and stop the platform's real services as subprocesses for integration tests."""

import os
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
LOGS = ROOT / ".devstack" / "test" / "logs"
# Services under test listen on PORT_BASE..PORT_BASE+9 (override to run two test stacks side by side).
PORT_BASE = int(os.environ.get("INCIDENTS_TEST_PORT_BASE", "28000"))
PORTS = {"command-api": PORT_BASE, "projector": PORT_BASE + 1, "escalator": PORT_BASE + 2}
SPARE_PORT = PORT_BASE + 9
PORT_SETTINGS = {
    "command-api": "INCIDENTS_API_PORT",
    "projector": "INCIDENTS_PROJECTOR_HTTP_PORT",
    "escalator": "INCIDENTS_ESCALATOR_HTTP_PORT",
}


def require_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run the integration tests with `make test`")
    return value


@dataclass
class Service:
    """One service process, with its own log file and HTTP port."""

    name: str
    port: int
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60.0) -> None:
        self.launch()
        self.wait_healthy(timeout_s)

    def launch(self) -> None:
        """Start the process without waiting for it to be healthy (to start several at once)."""
        LOGS.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "INCIDENTS_LOG_FORMAT": "json", PORT_SETTINGS[self.name]: str(self.port), **self.env}
        log = (LOGS / f"{self.name}-{self.port}.log").open("ab")
        self.process = subprocess.Popen([str(BIN / f"incidents-{self.name}")], env=env, stdout=log, stderr=log)

    def wait_healthy(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {LOGS}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} not healthy within {timeout_s}s")

    def stop(self, timeout_s: float = 20.0) -> int:
        """SIGTERM, wait; returns the exit code (SIGKILL only as a last resort)."""
        if self.process is None:
            return 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return -9
        finally:
            self.process = None

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
