"""Sending one message over SMTP with aiosmtplib: implicit TLS, STARTTLS and AUTH as the target says.

A refusal is classified for the sender: a 4xx reply, a timeout or a connection error is temporary (worth a retry
with backoff); a 5xx reply is permanent (recorded failed at once with the server's reply). The password never
appears in a refusal or a log line.
"""

import email.utils
from dataclasses import dataclass, field
from email.message import EmailMessage

import aiosmtplib


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to send: the relay, its credentials and TLS mode, and the `From` mailbox."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    implicit_tls: bool = False  # smtps://: TLS from the first byte
    starttls: bool = False  # smtp://...?starttls=true: upgrade before AUTH and MAIL
    sender: str = "incidents@localhost"  # the From header as configured, e.g. "Incidents <incidents@example.com>"

    @property
    def envelope_sender(self) -> str:
        """The bare address of `sender` (MAIL FROM)."""
        return email.utils.parseaddr(self.sender)[1]

    @property
    def domain(self) -> str:
        """The domain of `sender`: the right-hand side of this platform's Message-IDs."""
        return self.envelope_sender.rpartition("@")[2] or "localhost"


class MailRefused(Exception):
    """The message was not accepted. `permanent`: no retry can fix it (5xx); `reply`: what the server said."""

    def __init__(self, reply: str, *, permanent: bool) -> None:
        super().__init__(reply)
        self.reply = reply
        self.permanent = permanent


def _reply(code: int, message: str) -> MailRefused:
    text = f"SMTP {code} {message}".strip()[:500]
    return MailRefused(text, permanent=500 <= code < 600)


def classify(exc: aiosmtplib.SMTPException) -> MailRefused:
    """aiosmtplib's exception as a refusal: the first refused recipient's reply, a reply code, or a temporary
    connection failure."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        first = exc.recipients[0]
        return _reply(first.code, first.message)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _reply(exc.code, exc.message)
    if isinstance(exc, aiosmtplib.SMTPNotSupported):  # e.g. STARTTLS or AUTH asked of a server without it
        return MailRefused(f"{type(exc).__name__}: {exc}"[:500], permanent=True)
    return MailRefused(f"{type(exc).__name__}: {exc}"[:500], permanent=False)


async def send_mail(target: SmtpTarget, message: EmailMessage, *, timeout_s: float) -> None:
    """Send `message` to its To/Cc recipients through `target`; raises MailRefused when it is not accepted."""
    try:
        await aiosmtplib.send(
            message,
            hostname=target.host,
            port=target.port,
            username=target.username,
            password=target.password,
            use_tls=target.implicit_tls,
            start_tls=target.starttls,
            sender=target.envelope_sender,
            timeout=timeout_s,
        )
    except aiosmtplib.SMTPException as exc:
        raise classify(exc) from None
    except OSError as exc:  # refused, unreachable, TLS handshake: the relay may be back on the next attempt
        raise MailRefused(f"{type(exc).__name__}: {exc}"[:500], permanent=False) from None
