"""The devstack's pure parts: the env file round trip (also through a real shell) and the profiles' ports."""

import subprocess
from pathlib import Path

import pytest

from devstack import profiles
from devstack.console import DevstackError
from devstack.envfile import read_env, write_env
from devstack.stack import redact_url

VALUES = {
    "INCIDENTS_KAFKA_BOOTSTRAP": "127.0.0.1:19092",
    "INCIDENTS_DATABASE_URL": "postgresql://u:p@s$w'rd@host:5432/db?x=1&y=2",
    "INCIDENTS_TOKENS_FILE": "/srv/with space/tokens.json",
    "EMPTY": "",
}


def test_the_env_file_reads_back_what_was_written(tmp_path: Path) -> None:
    path = tmp_path / "env"
    write_env(path, VALUES, "written by a test")
    assert read_env(path) == VALUES
    assert path.read_text().splitlines()[:2] == ["# written by a test", "INCIDENTS_KAFKA_BOOTSTRAP=127.0.0.1:19092"]


def test_a_shell_that_sources_the_env_file_sees_the_same_values(tmp_path: Path) -> None:
    path = tmp_path / "env"
    write_env(path, VALUES, "written by a test")
    script = f'set -a; . "{path}"; set +a; for k in {" ".join(VALUES)}; do printf "%s\\0" "${{!k}}"; done'
    out = subprocess.run(["bash", "-c", script], capture_output=True, check=True).stdout.decode()
    assert out.split("\0")[:-1] == list(VALUES.values())


def test_every_profile_has_its_own_ports() -> None:
    loaded = [profiles.load(name, {}) for name in profiles.DEFAULTS]
    ports = [p for x in loaded for p in (x.kafka_port, x.kafka_controller_port, x.pg_port, *x.service_ports.values())]
    assert len(ports) == len(set(ports))
    assert profiles.load("dev", {}).service_ports == {"command-api": 8000, "projector": 8001, "escalator": 8002}
    assert profiles.load("test", {"INCIDENTS_TEST_PORT_BASE": "38000"}).spare_port == 38009


def test_overrides_are_checked() -> None:
    assert profiles.load("dev", {"INCIDENTS_API_PORT": "9000"}).service_ports["command-api"] == 9000
    with pytest.raises(DevstackError, match="invalid port"):
        profiles.load("dev", {"INCIDENTS_DEVSTACK_PG_PORT": "70000"})
    with pytest.raises(DevstackError, match="must differ"):
        profiles.load("test", {"INCIDENTS_DEVSTACK_KAFKA_PORT": "29093"})
    with pytest.raises(DevstackError, match="unknown profile"):
        profiles.load("prod", {})


def test_status_hides_a_password() -> None:
    assert redact_url("postgresql://me:secret@db:5432/x") == "postgresql://me:***@db:5432/x"
