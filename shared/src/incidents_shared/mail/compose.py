"""Composing messages: multipart/alternative (plain text + HTML) with per-incident threading headers. Pure.

Every message about one incident names the same root id in `In-Reply-To` and `References`
(`<incident-{id}@{domain}>`), so mail clients thread them together; its own `Message-ID` is derived from a key
unique to the message (a delivery's id), so a retried delivery carries the same id and a receiver can drop the
duplicate.
"""

import email.policy
import email.utils
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from uuid import UUID

AUTO_SUBMITTED = "auto-generated"  # RFC 3834: no vacation replies to these


@dataclass(frozen=True)
class Thread:
    """The threading headers of one message about one incident."""

    message_id: str
    root: str

    def headers(self) -> dict[str, str]:
        return {"Message-ID": self.message_id, "In-Reply-To": self.root, "References": self.root}


def incident_root(incident_id: UUID, domain: str) -> str:
    """The stable id every message about `incident_id` refers to."""
    return f"<incident-{incident_id}@{domain}>"


def thread(incident_id: UUID, message_key: UUID, domain: str) -> Thread:
    """The headers of the message `message_key` (unique per message) about `incident_id`."""
    return Thread(f"<{message_key}.{incident_id}@{domain}>", incident_root(incident_id, domain))


def _one_line(value: str) -> str:
    return " ".join(value.split())  # no header injection through a title with a newline in it


def multipart(
    *,
    sender: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    at: datetime,
    headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """A multipart/alternative message: `text` first, `html` preferred by clients that show HTML. `at` (tz-aware)
    is its Date; `headers` are added as given (threading, List-Unsubscribe, ...)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("at must be timezone-aware")
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = _one_line(subject)
    message["Date"] = email.utils.format_datetime(at)
    message["Auto-Submitted"] = AUTO_SUBMITTED
    for name, value in (headers or {}).items():
        message[name] = _one_line(value)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message
