"""The service and role tokens the API starts with, parsed and checked (docs/decisions/0089).

Two sources, both optional, merged:

- the tokens file (`INCIDENTS_TOKENS_FILE`), a JSON object of named principals,
  `{"<name>": {"role": "<role>", "token": "<token>"}, ...}`; the devstack's old shape `{"<role>": "<token>"}`
  is still read, each entry then being the principal `dev-<role>`;
- `INCIDENTS_TOKEN_HASHES`, `<name>:<role>:<sha256 hex>,...`, for deployments that keep no plaintext token.

Each name is its own principal: its own actor id on the log, idempotency namespace and rate bucket. A duplicate
name, an unknown role, a hash that is not 64 hex digits or two names sharing a token refuse start-up with a
`TokenConfigError` naming the entry, never its token or hash.
"""

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from incidents_shared.domain.enums import Role

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")
HEX64 = re.compile(r"[0-9a-fA-F]{64}")
ROLES = ", ".join(r.value for r in Role)
LEGACY_PREFIX = "dev-"  # the principal of an old-shape entry `{"<role>": "<token>"}`


class TokenConfigError(ValueError):
    """A tokens file or INCIDENTS_TOKEN_HASHES entry the API refuses to start with."""


@dataclass(frozen=True)
class NamedToken:
    """One principal: its name (the actor id), its role, and where it was configured (for error messages)."""

    name: str
    role: Role
    digest: str  # SHA-256 hex of the token, lower case
    source: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def load_principals(tokens_file: Path | None, token_hashes: str) -> list[NamedToken]:
    """Every configured principal, checked together (a duplicate across both sources is refused too)."""
    entries = parse_tokens_file(tokens_file.read_text(), str(tokens_file)) if tokens_file is not None else []
    entries += parse_token_hashes(token_hashes)
    check_unique(entries)
    return entries


def parse_tokens_file(text: str, source: str = "the tokens file") -> list[NamedToken]:
    try:
        loaded = json.loads(text)
    except ValueError as exc:
        raise TokenConfigError(f"{source}: not JSON ({exc.__class__.__name__} at line {_line(exc)})") from None
    if not isinstance(loaded, dict):
        raise TokenConfigError(f'{source}: must be a JSON object {{"<name>": {{"role": ..., "token": ...}}}}')
    return [_file_entry(key, value, source) for key, value in loaded.items()]


def parse_token_hashes(value: str) -> list[NamedToken]:
    entries = [e.strip() for e in value.split(",")]
    return [_hash_entry(i, entry) for i, entry in enumerate(entries, start=1) if entry]


def check_unique(entries: list[NamedToken]) -> None:
    names: dict[str, NamedToken] = {}
    digests: dict[str, NamedToken] = {}
    for entry in entries:
        if (twin := names.get(entry.name)) is not None:
            raise TokenConfigError(f"{entry.source}: principal {entry.name!r} is also defined by {twin.source}")
        if (twin := digests.get(entry.digest)) is not None:
            raise TokenConfigError(
                f"{entry.source}: principal {entry.name!r} has the same token as {twin.name!r} ({twin.source});"
                " give each principal its own token"
            )
        names[entry.name], digests[entry.digest] = entry, entry


def _file_entry(key: object, value: object, source: str) -> NamedToken:
    where = f"{source} entry {key!r}"
    if isinstance(value, str):  # the old shape: the key is a role
        role = _role(key, where)
        name, token = LEGACY_PREFIX + role.value, value
    elif isinstance(value, dict) and set(value) == {"role", "token"} and isinstance(value["token"], str):
        role, name, token = _role(value["role"], where), _name(key, where), value["token"]
    else:
        raise TokenConfigError(f'{where}: must be {{"role": "<role>", "token": "<token>"}}')
    if not token.strip():
        raise TokenConfigError(f"{where}: the token is empty")
    return NamedToken(name, role, token_hash(token), where)


def _hash_entry(index: int, entry: str) -> NamedToken:
    parts = entry.split(":")
    label = parts[0] if len(parts) == 3 and NAME.fullmatch(parts[0]) else f"#{index}"
    where = f"INCIDENTS_TOKEN_HASHES entry {label}"
    if len(parts) != 3:
        raise TokenConfigError(f"{where}: must be <name>:<role>:<sha256 hex>")
    name, role, digest = parts
    if not HEX64.fullmatch(digest):
        raise TokenConfigError(f"{where}: the hash must be 64 hex digits (a SHA-256 of the token)")
    return NamedToken(_name(name, where), _role(role, where), digest.lower(), where)


def _name(value: object, where: str) -> str:
    if not isinstance(value, str) or not NAME.fullmatch(value):
        raise TokenConfigError(f"{where}: the name must be 1-100 of A-Z a-z 0-9 . _ @ - (not starting with . _ @ -)")
    return value


def _role(value: object, where: str) -> Role:
    try:
        return Role(str(value))
    except ValueError:
        raise TokenConfigError(f"{where}: unknown role {str(value)[:40]!r} (one of {ROLES})") from None


def _line(exc: ValueError) -> int:
    return getattr(exc, "lineno", 0)
