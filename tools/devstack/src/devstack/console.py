"""Messages on stderr and the one error the devstack raises."""

import sys
from pathlib import Path


class DevstackError(RuntimeError):
    """A step of the devstack failed; the message says what to do about it."""


def say(tag: str, message: str) -> None:
    """One progress line on stderr, e.g. `devstack[dev]: kafka up ...`."""
    sys.stderr.write(f"{tag}: {message}\n")
    sys.stderr.flush()


def tail(path: Path, lines: int = 30, offset: int = 0) -> None:
    """The last lines of a log file (from byte `offset`) on stderr, under a header naming it; nothing if missing."""
    try:
        with path.open("rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
    except OSError:
        return
    last = "".join(f"{line}\n" for line in text.splitlines()[-lines:])
    sys.stderr.write(f"--- last {lines} lines of {path} ---\n{last}")
    sys.stderr.flush()
