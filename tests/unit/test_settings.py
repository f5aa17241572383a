"""CommonSettings fails fast, and says which environment variable to fix."""

import os

import pytest
from pydantic import ValidationError

from incidents_shared.settings import CommonSettings, describe_errors, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the environment only: start every test without INCIDENTS_* variables."""
    for name in list(os.environ):
        if name.startswith("INCIDENTS_"):
            monkeypatch.delenv(name)


def test_defaults_point_at_the_local_devstack() -> None:
    settings = CommonSettings()

    assert settings.kafka_bootstrap == "127.0.0.1:19092"
    assert settings.database_url.startswith("postgresql://")
    assert settings.events_topic == "incidents.events.v1"
    assert settings.dlq_topic == "incidents.events.dlq.v1"


def test_valid_values_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCIDENTS_DATABASE_URL", "postgres://app:secret@db.internal:5432/incidents")
    monkeypatch.setenv("INCIDENTS_KAFKA_BOOTSTRAP", "kafka-1:9092, kafka-2:9092")
    monkeypatch.setenv("INCIDENTS_TOPIC_PARTITIONS", "24")

    settings = CommonSettings()

    assert settings.database_url == "postgres://app:secret@db.internal:5432/incidents"
    assert settings.kafka_bootstrap == "kafka-1:9092, kafka-2:9092"
    assert settings.topic_partitions == 24


@pytest.mark.parametrize("url", ["mysql://root@127.0.0.1:3306/incidents", "127.0.0.1:5432", "sqlite:///tmp/x.db"])
def test_a_database_url_that_is_not_postgres_is_rejected(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("INCIDENTS_DATABASE_URL", url)

    with pytest.raises(ValidationError, match="database_url"):
        CommonSettings()


@pytest.mark.parametrize("bootstrap", ["localhost", ":9092", "kafka:port", "kafka:9092,", "kafka:9092,other"])
def test_a_kafka_bootstrap_that_is_not_host_port_is_rejected(monkeypatch: pytest.MonkeyPatch, bootstrap: str) -> None:
    monkeypatch.setenv("INCIDENTS_KAFKA_BOOTSTRAP", bootstrap)

    with pytest.raises(ValidationError, match="kafka_bootstrap"):
        CommonSettings()


def test_describe_errors_names_every_wrong_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCIDENTS_DATABASE_URL", "mysql://root@127.0.0.1:3306/incidents")
    monkeypatch.setenv("INCIDENTS_KAFKA_BOOTSTRAP", "localhost")

    with pytest.raises(ValidationError) as raised:
        CommonSettings()
    message = describe_errors(CommonSettings, raised.value)

    assert message.splitlines()[0] == "invalid configuration for CommonSettings:"
    assert "  INCIDENTS_DATABASE_URL='mysql://root@127.0.0.1:3306/incidents': " in message
    assert "  INCIDENTS_KAFKA_BOOTSTRAP='localhost': " in message
    assert "postgresql://" in message


def test_load_settings_exits_with_status_2_and_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INCIDENTS_DATABASE_URL", "mysql://root@127.0.0.1:3306/incidents")

    with pytest.raises(SystemExit) as raised:
        load_settings(CommonSettings)

    assert raised.value.code == 2
    captured = capsys.readouterr()
    assert "INCIDENTS_DATABASE_URL=" in captured.err
    assert "INCIDENTS_KAFKA_BOOTSTRAP" not in captured.err
    assert captured.out == ""


def test_load_settings_returns_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCIDENTS_LOG_LEVEL", "debug")

    assert load_settings(CommonSettings).log_level == "debug"


def test_a_rejected_database_url_does_not_leak_its_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INCIDENTS_DATABASE_URL", "mysql://app:s3cr3t-pw@db.internal:3306/incidents")

    with pytest.raises(SystemExit):
        load_settings(CommonSettings)

    captured = capsys.readouterr()
    assert "INCIDENTS_DATABASE_URL=" in captured.err
    assert "s3cr3t-pw" not in captured.err
