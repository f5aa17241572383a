"""The env file of a stack (`<state>/env`): written and read here, and `source`-able by a shell.

One `KEY=value` line per variable, the value quoted for sh only when it needs it (shlex.quote), so
`set -a; source .devstack/env; set +a` and `read_env` see the same values.
"""

import os
import shlex
from collections.abc import Mapping
from pathlib import Path


def write_env(path: Path, values: Mapping[str, str], header: str) -> None:
    """Replace `path` atomically with a comment line and the values."""
    lines = [f"# {header}", *(f"{key}={shlex.quote(value)}" for key, value in values.items())]
    tmp = path.with_name(f"{path.name}.tmp.{os.getpid()}")
    tmp.write_text("".join(f"{line}\n" for line in lines))
    tmp.replace(path)


def read_env(path: Path) -> dict[str, str]:
    """The values in an env file written by `write_env` (comments and blank lines skipped)."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#") or "=" not in line:
            continue
        key, raw = line.split("=", 1)
        words = shlex.split(raw)
        values[key.strip()] = words[0] if words else ""
    return values


def read_value(path: Path, key: str) -> str:
    """One value of an env file, or "" when the file or the key is missing."""
    try:
        return read_env(path).get(key, "")
    except OSError:
        return ""
