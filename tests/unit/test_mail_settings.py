"""INCIDENTS_SMTP_URL and INCIDENTS_SMTP_FROM: parsed into a target, refused clearly, the password never shown."""

import os

import pytest
from pydantic import ValidationError, model_validator

from incidents_shared.mail.settings import SmtpSettings, SmtpUrlError, parse_smtp_url, smtp_target
from incidents_shared.mail.transport import SmtpTarget
from incidents_shared.settings import describe_errors

SENDER = "Incidents <incidents@example.com>"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("INCIDENTS_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_plain_smtp_with_a_port() -> None:
    assert parse_smtp_url("smtp://127.0.0.1:2525", SENDER) == SmtpTarget("127.0.0.1", 2525, sender=SENDER)


def test_starttls_and_credentials_percent_decoded() -> None:
    target = parse_smtp_url("smtp://ops%40example.com:p%3As%2Fs@relay.example.com:587?starttls=true", SENDER)

    assert (target.host, target.port, target.starttls, target.implicit_tls) == ("relay.example.com", 587, True, False)
    assert (target.username, target.password) == ("ops@example.com", "p:s/s")
    assert "p:s/s" not in repr(target)


def test_smtps_is_implicit_tls_on_465_by_default() -> None:
    target = parse_smtp_url("smtps://user:pw@relay.example.com", SENDER)

    assert (target.port, target.implicit_tls, target.starttls) == (465, True, False)


def test_smtp_defaults_to_port_25_without_starttls() -> None:
    target = parse_smtp_url("smtp://relay.example.com?starttls=false", SENDER)

    assert (target.port, target.starttls) == (25, False)


def test_the_target_knows_the_bare_sender_and_its_domain() -> None:
    target = parse_smtp_url("smtp://relay.example.com", SENDER)

    assert (target.envelope_sender, target.domain) == ("incidents@example.com", "example.com")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://relay.example.com", "smtp:// or smtps://"),
        ("smtp://", "needs a host"),
        ("smtp://relay.example.com:99999", "valid port"),
        ("smtp://relay.example.com:25/path", "no path"),
        ("smtp://user@relay.example.com", "both a user and a password"),
        ("smtp://relay.example.com?tls=yes", "unknown option 'tls'"),
        ("smtp://relay.example.com?starttls=maybe", "true or false"),
        ("smtps://relay.example.com?starttls=true", "TLS already"),
    ],
)
def test_bad_urls_are_refused_saying_why(url: str, says: str) -> None:
    with pytest.raises(SmtpUrlError, match=says):
        parse_smtp_url(url, SENDER)


def test_no_url_means_no_target(env: pytest.MonkeyPatch) -> None:
    settings = SmtpSettings()

    assert (settings.smtp_url, settings.smtp_from, settings.smtp_timeout_s) == (None, None, 10.0)
    assert smtp_target(settings) is None


def test_settings_from_the_environment(env: pytest.MonkeyPatch) -> None:
    env.setenv("INCIDENTS_SMTP_URL", "smtp://u:secret-pw@127.0.0.1:2525")
    env.setenv("INCIDENTS_SMTP_FROM", SENDER)

    target = smtp_target(SmtpSettings())

    assert target == SmtpTarget("127.0.0.1", 2525, "u", "secret-pw", sender=SENDER)


def test_a_bad_url_stops_start_up_naming_the_variable_never_the_password(env: pytest.MonkeyPatch) -> None:
    env.setenv("INCIDENTS_SMTP_URL", "smtp://u:secret-pw@relay.example.com:25/oops")
    env.setenv("INCIDENTS_SMTP_FROM", SENDER)

    with pytest.raises(ValidationError) as raised:
        SmtpSettings()
    described = describe_errors(SmtpSettings, raised.value)

    assert "INCIDENTS_SMTP_URL" in described and "no path" in described
    assert "secret-pw" not in described and "secret-pw" not in str(raised.value)


def test_a_url_needs_a_from_mailbox_and_the_error_never_shows_the_url(env: pytest.MonkeyPatch) -> None:
    env.setenv("INCIDENTS_SMTP_URL", "smtp://u:secret-pw@127.0.0.1:2525")

    with pytest.raises(ValidationError) as raised:
        SmtpSettings()
    described = describe_errors(SmtpSettings, raised.value)

    assert "INCIDENTS_SMTP_FROM=None" in described and "required with INCIDENTS_SMTP_URL" in described
    assert "secret-pw" not in described and "secret-pw" not in str(raised.value)


@pytest.mark.parametrize("sender", ["incidents", "a@b@c", "Incidents <incidents@example.com>\nBcc: x@y.z"])
def test_a_from_that_is_not_a_mailbox_is_refused(env: pytest.MonkeyPatch, sender: str) -> None:
    env.setenv("INCIDENTS_SMTP_FROM", sender)

    with pytest.raises(ValidationError, match="must be a mailbox"):
        SmtpSettings()


class _WithARule(SmtpSettings):
    @model_validator(mode="after")
    def _refuse(self) -> "_WithARule":
        raise ValueError("a rule across settings failed")


def test_a_rule_across_settings_prints_no_input_so_never_the_url(env: pytest.MonkeyPatch) -> None:
    env.setenv("INCIDENTS_SMTP_URL", "smtp://u:secret-pw@127.0.0.1:2525")
    env.setenv("INCIDENTS_SMTP_FROM", SENDER)

    with pytest.raises(ValidationError) as raised:
        _WithARule()
    described = describe_errors(_WithARule, raised.value)

    assert "a rule across settings failed" in described and "secret-pw" not in described
