"""SMTP settings, shared by the escalator and the command API: `INCIDENTS_SMTP_URL` and `INCIDENTS_SMTP_FROM`.

`INCIDENTS_SMTP_URL` is `smtp://[user:pass@]host[:port][?starttls=true]` (port 25 by default) or
`smtps://[user:pass@]host[:port]` (implicit TLS, port 465 by default). User and password are percent-decoded. The
URL is a secret (it may hold a password): a wrong one is refused at start-up naming the variable, never the value.
"""

import email.utils
import re
from typing import Annotated
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from incidents_shared.mail.transport import SmtpTarget

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
_HOST = re.compile(r"[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]+\]")
_ADDRESS = re.compile(r"[^@\s<>\"]+@[^@\s<>\"]+")
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


class SmtpUrlError(ValueError):
    """An `INCIDENTS_SMTP_URL` that cannot be used; the message never holds the URL's password."""


def parse_smtp_url(url: str, sender: str) -> SmtpTarget:
    """The target an SMTP URL describes, sending as `sender`; raises SmtpUrlError saying what is wrong."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise SmtpUrlError("not a URL with a valid port") from None
    if parts.scheme not in DEFAULT_PORTS:
        raise SmtpUrlError("the scheme must be smtp:// or smtps://")
    host = parts.hostname or ""
    if not _HOST.fullmatch(host if ":" not in host else f"[{host}]"):
        raise SmtpUrlError("needs a host, e.g. smtp://relay.example.com:587?starttls=true")
    if parts.path not in ("", "/") or parts.fragment:
        raise SmtpUrlError("takes no path or fragment")
    if (parts.username is None) != (parts.password is None):
        raise SmtpUrlError("give both a user and a password (user:pass@host) or neither")
    starttls = _starttls(parts.query)
    if starttls and parts.scheme == "smtps":
        raise SmtpUrlError("smtps:// is TLS already; starttls=true is for smtp://")
    return SmtpTarget(
        host=host,
        port=port or DEFAULT_PORTS[parts.scheme],
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        implicit_tls=parts.scheme == "smtps",
        starttls=starttls,
        sender=sender,
    )


def _starttls(query: str) -> bool:
    try:
        options = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise SmtpUrlError("the query must be ?starttls=true or ?starttls=false") from None
    if unknown := sorted(set(options) - {"starttls"}):
        raise SmtpUrlError(f"unknown option {unknown[0]!r}; the only one is starttls=true|false")
    values = options.get("starttls", ["false"])
    if len(values) != 1 or values[0].lower() not in _TRUE + _FALSE:
        raise SmtpUrlError("starttls must be true or false")
    return values[0].lower() in _TRUE


def check_sender(value: str) -> str:
    """`incidents@example.com` or `Incidents <incidents@example.com>`; raises ValueError otherwise."""
    address = email.utils.parseaddr(value)[1]
    if not _ADDRESS.fullmatch(address) or "\n" in value or "\r" in value:
        raise ValueError("must be a mailbox, e.g. incidents@example.com or 'Incidents <incidents@example.com>'")
    return value


def _invalid(message: str, value: SecretStr) -> ValidationError:
    # A ValidationError whose input is the SecretStr: start-up errors never print the URL (it may hold a password).
    error = PydanticCustomError("smtp_url", "{message}", {"message": message})
    return ValidationError.from_exception_data("SmtpSettings", [InitErrorDetails(type=error, input=value)])


class SmtpSettings(BaseSettings):
    """The SMTP relay, as a settings mixin. No URL: nothing is sent by email, and every email delivery is recorded
    failed saying so (never silent)."""

    model_config = SettingsConfigDict(env_prefix="INCIDENTS_", extra="ignore", frozen=True)

    smtp_url: SecretStr | None = None
    smtp_from: Annotated[str | None, Field(max_length=320, validate_default=True)] = None
    smtp_timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0

    @field_validator("smtp_url")
    @classmethod
    def _url_parses(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        try:
            parse_smtp_url(value.get_secret_value(), "check@localhost")
        except SmtpUrlError as exc:
            raise _invalid(str(exc), value) from None
        return value

    @field_validator("smtp_from")
    @classmethod
    def _mailbox(cls, value: str | None, info: ValidationInfo) -> str | None:
        # A field validator, not a model one: a model validator's error would print every input, the URL included.
        if value is not None and value.strip():
            return check_sender(value)
        if info.data.get("smtp_url") is not None:
            raise ValueError("required with INCIDENTS_SMTP_URL (the mailbox messages come from)")
        return None


def smtp_target(settings: SmtpSettings) -> SmtpTarget | None:
    """The configured relay, or None when INCIDENTS_SMTP_URL is not set."""
    if settings.smtp_url is None or settings.smtp_from is None:
        return None
    return parse_smtp_url(settings.smtp_url.get_secret_value(), settings.smtp_from)
