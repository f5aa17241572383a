"""One of the platform's services as a process: started, waited for on /healthz, stopped."""

import os
from dataclasses import dataclass, field
from pathlib import Path

from devstack import procs
from devstack.console import DevstackError
from devstack.profiles import PORT_SETTINGS, VENV_BIN, load

SIGNING_KEY_VAR = "INCIDENTS_AUDIT_SIGNING_KEY_FILE"


@dataclass
class Service:
    """A service process with its own log file and HTTP port (`make run` detaches it; tests keep it a child)."""

    name: str
    port: int
    env: dict[str, str] = field(default_factory=dict)
    process: procs.Popen | None = None
    log_dir: Path = field(default_factory=lambda: load("test").logs_dir)
    log_name: str = ""  # default: <name>-<port>.log
    detach: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.log_dir / (self.log_name or f"{self.name}-{self.port}.log")

    def start(self, timeout_s: float = 60.0) -> None:
        self.launch()
        self.wait_healthy(timeout_s)

    def launch(self) -> None:
        """Start the process without waiting for it to be healthy (to start several at once)."""
        env = {**os.environ, "INCIDENTS_LOG_FORMAT": "json", PORT_SETTINGS[self.name]: str(self.port), **self.env}
        if self.name != "projector":  # the audit signing key is the projector's alone (docs/decisions/0082)
            env.pop(SIGNING_KEY_VAR, None)
        self.process = procs.spawn([str(VENV_BIN / f"incidents-{self.name}")], self.log, env, self.detach)

    def wait_healthy(self, timeout_s: float) -> None:
        process = self.process
        assert process is not None
        outcome = procs.wait_for(
            lambda: procs.http_ok(f"{self.url}/healthz"), lambda: process.poll() is None, timeout_s, 0.2
        )
        if outcome == "exited":
            raise DevstackError(f"{self.name} exited with {process.returncode} during start-up; see {self.log}")
        if outcome == "timeout":
            raise DevstackError(
                f"{self.name} did not answer /healthz on port {self.port} within {timeout_s:g}s; see {self.log}"
            )

    def stop(self, timeout_s: float = 20.0) -> int:
        """SIGTERM, wait; returns the exit code (SIGKILL only as a last resort)."""
        if self.process is None:
            return 0
        try:
            return procs.terminate(self.process, timeout_s)
        finally:
            self.process = None

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
