"""Projector settings (INCIDENTS_ prefix)."""

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator

from incidents_shared import addresses
from incidents_shared.audit import SigningKey
from incidents_shared.projection import GROUP_ID
from incidents_shared.settings import CommonSettings, Port

__all__ = ["GROUP_ID", "ProjectorSettings"]


class ProjectorSettings(CommonSettings):
    projector_http_port: Port = addresses.PROJECTOR
    projector_batch_max: Annotated[int, Field(ge=1, le=100_000)] = 20_000
    projector_poll_ms: Annotated[int, Field(ge=1, le=10_000)] = 100
    # The Ed25519 private key (PKCS#8 PEM) the audit checkpoints are signed with: the projector's only
    # (docs/decisions/0082, docs/SECURITY.md). Unset: no checkpoints, and a warning.
    audit_signing_key_file: Path | None = None
    audit_key: SecretStr | None = None  # the retired HMAC key (0040): read only to warn that it is ignored

    @field_validator("audit_signing_key_file")
    @classmethod
    def _signing_key(cls, value: Path | None) -> Path | None:
        if value is not None:
            load_signing_key(value)
        return value

    def signing_key(self) -> SigningKey | None:
        return None if self.audit_signing_key_file is None else load_signing_key(self.audit_signing_key_file)


def load_signing_key(path: Path) -> SigningKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        return SigningKey.from_pem(data)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
