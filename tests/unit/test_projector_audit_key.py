"""The projector's audit signing key setting: a readable Ed25519 PEM or a start-up error naming the file."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from incidents_shared.audit import SigningKey
from projector.settings import ProjectorSettings


def test_a_pem_file_gives_the_signing_key(tmp_path: Path) -> None:
    key = SigningKey.generate()
    path = tmp_path / "audit-signing.pem"
    path.write_bytes(key.pem())

    loaded = ProjectorSettings(audit_signing_key_file=path).signing_key()

    assert loaded is not None and loaded.key_id == key.key_id


def test_no_file_no_key() -> None:
    assert ProjectorSettings(audit_signing_key_file=None).signing_key() is None


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read"), (b"not a key", "not an unencrypted PEM private key")],
)
def test_a_missing_or_bad_file_is_a_settings_error_naming_it(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "audit-signing.pem"
    if content is not None:
        path.write_bytes(content)

    with pytest.raises(ValidationError, match=message) as refused:
        ProjectorSettings(audit_signing_key_file=path)
    assert str(path) in str(refused.value)
