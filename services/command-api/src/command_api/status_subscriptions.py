"""Email subscriptions to the status page: double opt-in and RFC 8058 one-click unsubscribe (decision 0081).

`subscribe` answers the same whatever the address's state (never revealing a subscription) and mails a
confirmation only when the address is not confirmed yet and has not asked too often. Tokens are random, mailed
once and stored as hashes; every mail carries its own unsubscribe token in `List-Unsubscribe`.
"""

import email.utils
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Protocol

import structlog

from command_api import status_html as html
from command_api.ratelimit import RateLimiter
from command_api.status_store import token_hash
from incidents_shared.mail.compose import multipart
from incidents_shared.mail.transport import MailRefused, SmtpTarget, send_mail

log = structlog.get_logger(__name__)
MAX_EMAIL_CHARS = 254
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
EMAIL = re.compile(rf"[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]{{1,64}}@{_LABEL}(?:\.{_LABEL})+")  # ASCII mailboxes
ONE_CLICK = "List-Unsubscribe=One-Click"


class Subscribers(Protocol):
    """The subscribers' store (PgSubscribers); arguments named `confirm`/`unsubscribe` are token hashes."""

    async def request(
        self, email: str, confirm: str, unsubscribe: str, expires_at: datetime, now: datetime
    ) -> bool: ...
    async def is_pending(self, confirm: str, now: datetime) -> bool: ...
    async def confirm(self, confirm: str, now: datetime) -> bool: ...
    async def erase(self, unsubscribe: str) -> bool: ...


def normalized_email(value: str) -> str | None:
    """The address lower-cased, or None when it is not one mailbox (`user@example.com`)."""
    candidate = value.strip().lower()
    return candidate if len(candidate) <= MAX_EMAIL_CHARS and EMAIL.fullmatch(candidate) else None


def unsubscribe_headers(url: str) -> dict[str, str]:
    """RFC 8058: the one-click unsubscribe headers for a mail whose unsubscribe URL is `url`."""
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": ONE_CLICK}


@dataclass(frozen=True)
class Confirmation:
    """A confirmation mail to send: to whom, and its two links' tokens (in the clear: only the mail holds them)."""

    email: str
    confirm_token: str
    unsubscribe_token: str


@dataclass
class Subscriptions:
    store: Subscribers
    target: SmtpTarget | None  # None: no INCIDENTS_SMTP_URL, nobody can subscribe (confirm and unsubscribe work)
    links: html.Links
    title: str
    clock: Callable[[], datetime]
    per_address: RateLimiter  # confirmations mailed per address (a quiet limit: the answer stays the same)
    confirm_ttl: timedelta = timedelta(hours=48)
    timeout_s: float = 10.0

    async def subscribe(self, email: str) -> Confirmation | None:
        """Record the request; the confirmation to mail, or None (confirmed already, or asked too often)."""
        if self.per_address.take(token_hash(email)) > 0:
            log.info("status_subscription_throttled")
            return None
        now = self.clock()
        wanted = Confirmation(email, secrets.token_urlsafe(32), secrets.token_urlsafe(32))
        hashes = token_hash(wanted.confirm_token), token_hash(wanted.unsubscribe_token)
        return wanted if await self.store.request(email, *hashes, now + self.confirm_ttl, now) else None

    async def mail(self, confirmation: Confirmation) -> None:
        """Send the confirmation (after the answer went out: its time must not tell anything); failures are logged."""
        assert self.target is not None, "subscribe is refused without a relay"
        try:
            await send_mail(self.target, self.message(confirmation), timeout_s=self.timeout_s)
            log.info("status_confirmation_sent")
        except MailRefused as exc:
            log.warning("status_confirmation_refused", reply=exc.reply, permanent=exc.permanent)

    def message(self, confirmation: Confirmation) -> EmailMessage:
        assert self.target is not None
        unsubscribe = self.links.unsubscribe(confirmation.unsubscribe_token)
        text, page = html.confirmation_mail(self.title, self.links.confirm(confirmation.confirm_token), unsubscribe)
        subject = f"Confirm your subscription to {self.title}"
        return multipart(
            sender=self.target.sender,
            to=confirmation.email,
            subject=subject,
            text=text,
            html=page,
            at=self.clock(),
            headers={"Message-ID": self.message_id(), **unsubscribe_headers(unsubscribe)},
        )

    def message_id(self) -> str:
        return email.utils.make_msgid(domain=self.target.domain if self.target else "localhost")

    async def is_pending(self, token: str) -> bool:
        return await self.store.is_pending(token_hash(token), self.clock())

    async def confirm(self, token: str) -> bool:
        confirmed = await self.store.confirm(token_hash(token), self.clock())
        log.info("status_subscription_confirmed" if confirmed else "status_confirmation_unknown")
        return confirmed

    async def unsubscribe(self, token: str) -> bool:
        erased = await self.store.erase(token_hash(token))
        log.info("status_subscriber_erased" if erased else "status_unsubscribe_unknown")
        return erased
