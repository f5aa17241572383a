"""Bearer tokens mapped to principals and roles. Tokens are kept only as SHA-256 hashes."""

import hashlib
import hmac
import json
from dataclasses import dataclass
from pathlib import Path

from incidents_shared.domain.enums import ActorKind, Role
from incidents_shared.domain.events import Actor


@dataclass(frozen=True)
class Principal:
    id: str
    role: Role

    def actor(self) -> Actor:
        kind = ActorKind.SERVICE if self.role is Role.INTEGRATION else ActorKind.USER
        return Actor(id=self.id, kind=kind, role=self.role.value)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenRegistry:
    """Looks principals up by the hash of the presented token, in constant time per candidate."""

    def __init__(self, hashed: dict[str, Principal]) -> None:
        self._hashed = hashed

    @classmethod
    def load(cls, tokens_file: Path | None, token_hashes: str) -> "TokenRegistry":
        hashed: dict[str, Principal] = {}
        if tokens_file is not None:
            for role, token in json.loads(tokens_file.read_text()).items():
                hashed[token_hash(token)] = Principal(id=f"dev-{role}", role=Role(role))
        for entry in filter(None, (e.strip() for e in token_hashes.split(","))):
            principal, role, digest = entry.split(":")
            hashed[digest.lower()] = Principal(id=principal, role=Role(role))
        return cls(hashed)

    def authenticate(self, token: str) -> Principal | None:
        digest = token_hash(token)
        for candidate, principal in self._hashed.items():
            if hmac.compare_digest(candidate, digest):
                return principal
        return None
