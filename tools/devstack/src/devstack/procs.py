"""Starting, watching and stopping processes: pid files, ports, health checks, logs.

The one copy used by the devstack, the platform runner, the integration and fault tests and the benchmarks.
Processes are only ever stopped by their own pid (SIGTERM, a grace period, then SIGKILL), never by name; a pid file
whose live process has another command line is stale, not ours, and nothing is killed.
"""

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TypeAlias

from devstack.console import DevstackError

Popen: TypeAlias = subprocess.Popen[bytes]


def pid_alive(pid: int) -> bool:
    """The process exists and has not exited (a zombie, not yet reaped by its parent, counts as dead)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return False
    return not stat.rpartition(") ")[2].startswith("Z")


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def pid_matches(pid: int, needle: str) -> bool:
    """The live process's command line contains `needle` (guards against a reused pid)."""
    return pid_alive(pid) and needle in command_line(pid)


def read_pid(path: Path) -> int | None:
    """The pid on the first line of `path`, or None."""
    try:
        first = path.read_text().splitlines()[0].strip()
    except (OSError, IndexError):
        return None
    return int(first) if first.isdigit() else None


def write_pid(path: Path, pid: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{pid}\n")


def wait_dead(pid: int, timeout_s: float, interval_s: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout_s
    while pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)
    return True


def stop_pid(pid: int, grace_s: float, say: Callable[[str], None], what: str) -> None:
    """SIGTERM, up to `grace_s` to exit, then SIGKILL."""
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not wait_dead(pid, grace_s):
        say(f"pid {pid} ({what}) still alive after {grace_s:g}s, sending SIGKILL")
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        wait_dead(pid, 5, 0.1)


def stop_pidfile(path: Path, grace_s: float, say: Callable[[str], None], match: str | None = None) -> None:
    """Stop the process in a pid file and remove the file; with `match`, only if its command line contains it."""
    if not path.exists():
        return
    pid = read_pid(path)
    if pid is None or not pid_alive(pid) or pid <= 1 or pid == os.getpid():
        path.unlink(missing_ok=True)
        return
    if match is not None and not pid_matches(pid, match):
        say(f"pid {pid} in {path} is not ours any more (stale pid file removed)")
        path.unlink(missing_ok=True)
        return
    stop_pid(pid, grace_s, say, str(path))
    path.unlink(missing_ok=True)


# --- ports -------------------------------------------------------------------------------------


def port_listening(port: int) -> bool:
    """Some process listens on TCP `port` on any address (what `ss -ltn` reads)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                return True
    return False


def port_accepts(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def port_owner(port: int) -> str:
    """Best effort, e.g. `users:(("java",pid=1,fd=2))`; empty when ss is missing."""
    if shutil.which("ss") is None:
        return ""
    out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, check=False).stdout
    for line in out.splitlines():
        if "users:" in line:
            return line[line.index("users:") :].strip()
    return ""


def require_free_port(port: int, what: str, hint: str) -> None:
    if port_listening(port):
        owner = port_owner(port)
        raise DevstackError(f"port {port} (for {what}) is already in use{' by ' + owner if owner else ''}; {hint}")


def http_ok(url: str, timeout_s: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s):  # noqa: S310 (our own http://127.0.0.1 URLs)
            return True
    except OSError:
        return False


def wait_for(ready: Callable[[], bool], alive: Callable[[], bool], timeout_s: float, interval_s: float) -> str:
    """Poll until `ready()`; returns "" when ready, "exited" or "timeout" otherwise."""
    deadline = time.monotonic() + timeout_s
    while True:
        if not alive():
            return "exited"
        if ready():
            return ""
        if time.monotonic() >= deadline:
            return "timeout"
        time.sleep(interval_s)


# --- spawning ----------------------------------------------------------------------------------


def spawn(argv: Sequence[str], log: Path, env: Mapping[str, str] | None = None, detach: bool = False) -> Popen:
    """Start `argv` with stdout and stderr appended to `log`; `detach` puts it in its own session (a daemon)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            list(argv),
            env=None if env is None else dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=detach,
        )


# Run by a short-lived intermediate process, so the daemon is never a child of the caller (a test run, a benchmark):
# when the intermediate exits, init adopts the daemon, as `setsid nohup ... &` from a shell script would do.
_DAEMONIZE = """
import subprocess, sys
with open(sys.argv[1], "ab") as log:
    child = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
print(child.pid)
"""


def daemon(argv: Sequence[str], log: Path, env: Mapping[str, str] | None = None) -> int:
    """Start `argv` in its own session, adopted by init, output appended to `log`; returns its pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", _DAEMONIZE, str(log), *argv],
        env=None if env is None else dict(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        start_new_session=True,
        check=False,
    )
    if done.returncode != 0 or not done.stdout.strip().isdigit():
        raise DevstackError(f"could not start {argv[0]}: {done.stderr.strip()}")
    return int(done.stdout.strip())


def terminate(process: Popen, grace_s: float) -> int:
    """SIGTERM, wait; returns the exit code (-9 when SIGKILL was needed)."""
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return -9


def run_logged(argv: Sequence[str], log: Path, env: Mapping[str, str] | None = None) -> bool:
    """Run to completion with its output in `log` (a file, never a pipe a daemon could keep open); True on success."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        done = subprocess.run(
            list(argv), env=None if env is None else dict(env), stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )
    return done.returncode == 0


@contextmanager
def file_lock(path: Path, timeout_s: float, what: str) -> Iterator[None]:
    """An exclusive flock on `path`, waited for up to `timeout_s` (serialises parallel devstack commands)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise DevstackError(f"{what} holds {path} for more than {timeout_s:g} s") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
