"""The devstack's audit key pair: made once per stack, owner-only, the public key derived from it; a service
other than the projector never gets the private key's file name (docs/decisions/0082)."""

import os
from pathlib import Path

import pytest

from devstack.platform import audit_keys
from devstack.service import SIGNING_KEY_VAR, Service
from incidents_shared.audit import SigningKey, parse_public_keys, public_key_text

PUBLIC_VAR = "INCIDENTS_AUDIT_PUBLIC_KEYS"


def test_the_pair_is_made_once_and_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SIGNING_KEY_VAR, raising=False)
    monkeypatch.delenv(PUBLIC_VAR, raising=False)
    audit_keys(tmp_path)
    path = tmp_path / "audit-signing.pem"
    first = SigningKey.from_pem(path.read_bytes())

    monkeypatch.delenv(PUBLIC_VAR)
    audit_keys(tmp_path)

    assert path.stat().st_mode & 0o777 == 0o600
    assert SigningKey.from_pem(path.read_bytes()).key_id == first.key_id
    assert list(parse_public_keys(os.environ[PUBLIC_VAR])) == [first.key_id]
    assert os.environ[SIGNING_KEY_VAR] == str(path)


def test_a_configured_key_file_and_public_keys_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    own = SigningKey.generate()
    path = tmp_path / "mine.pem"
    path.write_bytes(own.pem())
    other = SigningKey.generate()
    trusted = ",".join(public_key_text(k.public) for k in (own, other))
    monkeypatch.setenv(SIGNING_KEY_VAR, str(path))
    monkeypatch.setenv(PUBLIC_VAR, trusted)

    audit_keys(tmp_path / "state")

    assert os.environ[PUBLIC_VAR] == trusted
    assert not (tmp_path / "state" / "audit-signing.pem").exists()


def test_only_the_projector_is_launched_with_the_key_file(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, dict[str, str]] = {}
    monkeypatch.setenv(SIGNING_KEY_VAR, "/somewhere/audit-signing.pem")
    monkeypatch.setattr("devstack.procs.spawn", lambda cmd, log, env, detach: seen.setdefault(cmd[0], env))
    for name in ("projector", "escalator", "command-api"):
        Service(name, 1).launch()

    by_name = {Path(cmd).name: env for cmd, env in seen.items()}
    assert by_name["incidents-projector"][SIGNING_KEY_VAR] == "/somewhere/audit-signing.pem"
    assert SIGNING_KEY_VAR not in by_name["incidents-escalator"]
    assert SIGNING_KEY_VAR not in by_name["incidents-command-api"]
