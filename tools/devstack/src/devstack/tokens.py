"""The devstack's tokens file (<state>/tokens.json): one named principal per role, shape of decision 0089.

    {"dev-responder": {"role": "responder", "token": "dev-responder-..."}, ...}

A file in the old shape `{"<role>": "<token>"}` (written before decision 0089) is rewritten in the new one with the
same tokens and the same principals (`dev-<role>`), so nothing that already holds a token has to change it.
"""

import base64
import json
import os
import secrets
from pathlib import Path
from typing import Any

TOKEN_ROLES = ("reporter", "responder", "manager", "integration", "auditor", "admin")
PREFIX = "dev-"


def random_b64url(n_bytes: int) -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(n_bytes)).decode().rstrip("=")


def fresh_tokens() -> dict[str, dict[str, str]]:
    return {f"{PREFIX}{role}": {"role": role, "token": f"{PREFIX}{role}-{random_b64url(24)}"} for role in TOKEN_ROLES}


def named(loaded: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The file's principals in the new shape, an old-shape file's entries renamed `dev-<role>`."""
    return {
        (f"{PREFIX}{key}" if isinstance(value, str) else key): (
            {"role": key, "token": value} if isinstance(value, str) else value
        )
        for key, value in loaded.items()
    }


def read_named(path: Path) -> dict[str, dict[str, str]]:
    return named(json.loads(path.read_text()))


def role_view(loaded: dict[str, Any]) -> dict[str, str]:
    """role -> token (the `dev-<role>` principal's, else the first of that role): what tests and scripts ask for."""
    view: dict[str, str] = {}
    for name, entry in named(loaded).items():
        if name == f"{PREFIX}{entry['role']}" or entry["role"] not in view:
            view[entry["role"]] = entry["token"]
    return view


def read_role_view(path: Path) -> dict[str, str]:
    return role_view(json.loads(path.read_text()))


def ensure_tokens(path: Path) -> bool:
    """Write fresh tokens unless the file holds some (an old-shape file is rewritten as named); True if written."""
    if path.exists() and path.stat().st_size:
        loaded = json.loads(path.read_text())
        if loaded == named(loaded):
            path.chmod(0o600)
            return False
        write_private(path, named(loaded))
        return True
    write_private(path, fresh_tokens())
    return True


def write_private(path: Path, tokens: dict[str, dict[str, str]]) -> None:
    """Atomically, readable by its owner only."""
    tmp = path.with_name(f"{path.name}.tmp.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(tokens, indent=2) + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)
