"""A real SMTP server for the session (aiosmtpd on 127.0.0.1, a free port): keeps every message it receives.

Its port is chosen at import so that conftest can point the session's services at it (`SMTP_ENV`) before they
start; the `smtp_server` fixture starts it (the services depend on it). Every DATA attempt is recorded, accepted or
not; it can be told to answer the next N messages (to one recipient, or any) with a given reply, e.g. `451 4.3.0
Try again later` (temporary) or `550 5.1.1 No such user` (permanent).
"""

import asyncio
import socket
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from incidents_shared.mail.compose import multipart


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


SMTP_PORT = _free_port()
SMTP_FROM = "Incidents <incidents@incidents.test>"
SMTP_ENV = {"INCIDENTS_SMTP_URL": f"smtp://127.0.0.1:{SMTP_PORT}", "INCIDENTS_SMTP_FROM": SMTP_FROM}


def a_mailbox(who: str = "ann") -> str:
    """A recipient no other test uses."""
    return f"{who}-{uuid.uuid4().hex[:8]}@example.com"


def a_message(to: str, subject: str = "hello") -> EmailMessage:
    return multipart(sender=SMTP_FROM, to=to, subject=subject, text="plain", html="<p>html</p>", at=datetime.now(UTC))


@dataclass(frozen=True)
class Mail:
    """One message as the server received it (accepted or not)."""

    envelope_from: str
    recipients: list[str]
    message: EmailMessage
    at: datetime
    reply: str  # what the server answered

    @property
    def accepted(self) -> bool:
        return self.reply.startswith("250")

    def part(self, subtype: str) -> str:
        """The text of the `plain` or `html` part ('' when there is none)."""
        body = self.message.get_body((subtype,))
        return str(body.get_content()) if body is not None else ""


@dataclass
class _Refusal:
    reply: str
    left: int
    to: str | None


@dataclass
class SmtpServer:
    """The messages received so far, and the replies it was told to give instead of `250 OK`."""

    port: int
    attempts: list[Mail] = field(default_factory=list)
    _refusals: deque[_Refusal] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def received(self) -> list[Mail]:
        """Every message the server accepted."""
        with self._lock:
            return [m for m in self.attempts if m.accepted]

    def answer_next(self, count: int, reply: str, *, to: str | None = None) -> None:
        """Answer the next `count` messages (to `to` only, when given) with `reply`, e.g. '451 4.3.0 Try later'."""
        with self._lock:
            self._refusals.append(_Refusal(reply, count, to))

    def tried(self, to: str) -> list[Mail]:
        """Every attempt to deliver to `to`, accepted or not."""
        with self._lock:
            return [m for m in self.attempts if to in m.recipients]

    def to(self, mailbox: str) -> list[Mail]:
        return [m for m in self.received if mailbox in m.recipients]

    async def wait_for(self, matches: Callable[[Mail], bool], count: int = 1, timeout_s: float = 15.0) -> list[Mail]:
        """The accepted messages `matches` selects, once there are at least `count` (or all there are at the
        timeout)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            found = [m for m in self.received if matches(m)]
            if len(found) >= count or asyncio.get_running_loop().time() > deadline:
                return found
            await asyncio.sleep(0.1)

    def _answer(self, recipients: list[str]) -> str:
        with self._lock:
            for refusal in self._refusals:
                if refusal.left > 0 and (refusal.to is None or refusal.to in recipients):
                    refusal.left -= 1
                    return refusal.reply
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd)
        recipients = [str(r) for r in envelope.rcpt_tos]
        reply = self._answer(recipients)
        content = envelope.original_content or b""
        parsed = message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        mail = Mail(str(envelope.mail_from), recipients, parsed, datetime.now(UTC), reply)
        with self._lock:
            self.attempts.append(mail)
        return reply


def started(port: int = SMTP_PORT, **smtp: Any) -> tuple[SmtpServer, Controller]:
    """A server listening on 127.0.0.1:`port` in its own thread (aiosmtpd's Controller); `smtp` goes to
    aiosmtpd's SMTP (e.g. an authenticator)."""
    server = SmtpServer(port)
    controller = Controller(server, hostname="127.0.0.1", port=port, **smtp)
    controller.start()
    return server, controller


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    server, controller = started()
    try:
        yield server
    finally:
        controller.stop()
