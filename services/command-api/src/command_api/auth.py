"""Bearer tokens mapped to principals and roles. Tokens are kept only as SHA-256 hashes.

Two kinds: named service and role tokens (the tokens file or INCIDENTS_TOKEN_HASHES, parsed and checked by
`command_api.principals`: each name is its own principal, e.g. `alertmanager` or `dev-responder`), and personal
tokens on the directory's log (issued per user: the principal is the user, acting with the token's role, so the log
says who acted).
"""

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from command_api.principals import load_principals, token_hash
from incidents_shared.domain.directory import DirectoryState, token_holder
from incidents_shared.domain.enums import ActorKind, Role
from incidents_shared.domain.events import Actor

__all__ = ["PERSONAL_PREFIX", "Principal", "TokenRegistry", "new_personal_token", "token_hash"]

PERSONAL_PREFIX = "inc_"  # personal tokens start with it, so a leaked one is recognisable (and scannable)


@dataclass(frozen=True)
class Principal:
    id: str
    role: Role

    def actor(self) -> Actor:
        kind = ActorKind.SERVICE if self.role is Role.INTEGRATION else ActorKind.USER
        return Actor(id=self.id, kind=kind, role=self.role.value)


def new_personal_token() -> str:
    """A fresh personal token: 32 random bytes, URL-safe, with the recognisable prefix."""
    return PERSONAL_PREFIX + secrets.token_urlsafe(32)


class TokenRegistry:
    """Looks principals up by the hash of the presented token: the role tokens in constant time per candidate,
    then the personal tokens of the directory as it stands now (`directory`, once the app has one)."""

    def __init__(self, hashed: dict[str, Principal], directory: Callable[[], DirectoryState] | None = None) -> None:
        self._hashed = hashed
        self._directory = directory

    def with_directory(self, directory: Callable[[], DirectoryState]) -> "TokenRegistry":
        """The same role tokens, and the personal tokens of `directory()` at each request."""
        return TokenRegistry(self._hashed, directory)

    @classmethod
    def load(cls, tokens_file: Path | None, token_hashes: str) -> "TokenRegistry":
        """The configured principals; raises `TokenConfigError` (naming the entry) on a wrong one."""
        entries = load_principals(tokens_file, token_hashes)
        return cls({e.digest: Principal(id=e.name, role=e.role) for e in entries})

    def authenticate(self, token: str) -> Principal | None:
        digest = token_hash(token)
        for candidate, principal in self._hashed.items():
            if hmac.compare_digest(candidate, digest):
                return principal
        return self._personal(digest)

    def _personal(self, digest: str) -> Principal | None:
        """A dict lookup by hash: the hash of a random 256-bit token leaks nothing through timing."""
        if self._directory is None:
            return None
        held = token_holder(self._directory(), digest)
        return Principal(id=held.user, role=held.role) if held is not None else None
