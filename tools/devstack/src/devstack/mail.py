"""`devstack mail`: a local SMTP sink for the email of `make run` (aiosmtpd on 127.0.0.1:2525).

The dev profile points the escalator and the command API at it (INCIDENTS_SMTP_URL=smtp://127.0.0.1:2525,
INCIDENTS_SMTP_FROM=incidents@localhost). It accepts every message, prints its subject, recipients and links (a
page's acknowledge link among them), and saves it as an .eml file under .devstack/mail/ for a mail client to
open. With nothing listening, email deliveries are retried and then recorded failed: never silent.

A development aid, not part of the platform: it relays nothing anywhere.
"""

import re
import signal
import sys
import threading
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

DEFAULT_PORT = 2525
_URL = re.compile(r"https?://[^\s<>\"']+")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def links(message: Message) -> list[str]:
    """The http(s) URLs of the plain-text part (else the whole body), in order, each once."""
    body = message.get_body(("plain",)) if isinstance(message, EmailMessage) else None
    text = str(body.get_content()) if body is not None else str(message.get_payload())
    return list(dict.fromkeys(_URL.findall(text)))


def describe(message: Message, recipients: list[str]) -> str:
    """The lines printed for one message."""
    lines = [f"MAIL to {', '.join(recipients)}: {message.get('Subject', '(no subject)')}"]
    lines += [f"     {url}" for url in links(message)]
    return "\n".join(lines)


class MailSink:
    """aiosmtpd's handler: every message accepted, printed and saved as `<time>-<n>.eml` in `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory, self.count = directory, 0
        self.lock = threading.Lock()
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd)
        content = envelope.original_content or b""
        message = message_from_bytes(content, policy=policy.default)
        recipients = [str(r) for r in envelope.rcpt_tos]
        with self.lock:
            self.count += 1
            name = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{self.count:04d}.eml"
        saved = self.directory / _UNSAFE.sub("_", name)
        saved.write_bytes(content)
        sys.stdout.write(describe(message, recipients) + f"\n     saved {saved}\n")
        sys.stdout.flush()
        return "250 OK"


def start(directory: Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> Controller:
    """The sink listening on host:port in its own thread; `stop()` the returned controller to close it."""
    controller = Controller(MailSink(directory), hostname=host, port=port)
    controller.start()
    return controller


def serve(directory: Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
    """Run the sink until Ctrl-C or SIGTERM."""
    controller = start(directory, host, port)
    sys.stdout.write(f"receiving email on smtp://{host}:{port}, saving it under {directory} (Ctrl-C stops)\n")
    sys.stdout.flush()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
