"""Mail each new `customers` update to the status page's subscribers (decision 0081), supervised by the escalator.

Each tick fills the outbox `status_mail_outbox` with one row per (update, subscriber confirmed by the time it was
posted), drills left out; an update is filled once, when first seen (an update with rows is done). Then it claims
due rows (SKIP LOCKED, so several escalators share the work) and sends them: once each, retried with backoff on
temporary SMTP errors, failed at once on permanent ones. The address is read from `status_subscribers` at send
time and never leaves PostgreSQL and the mail (nothing goes onto the Kafka log); every mail carries its own
RFC 8058 one-click unsubscribe link, whose token only the mail holds (its hash is stored).
"""

import asyncio
import hashlib
import html
import random
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from uuid import UUID

import structlog

from escalator.clock import Clock
from escalator.settings import EscalatorSettings
from incidents_shared.db import Pool
from incidents_shared.domain.directory.model import Service
from incidents_shared.mail.compose import multipart, thread
from incidents_shared.mail.settings import smtp_target
from incidents_shared.mail.transport import MailRefused, SmtpTarget, send_mail
from incidents_shared.supervise import every

log = structlog.get_logger(__name__)
# The command API's public ids (command_api.status_view.STATUS_NAMESPACE): mails name incidents as the page does.
STATUS_NAMESPACE = UUID("5b0f6f3e-1d2c-4e4b-9a57-2f1c0f4d8e61")
FRESH = timedelta(days=1)  # an update older than this when first seen (an escalator down that long) is not mailed
LEASE = timedelta(minutes=2)  # a claimed row no instance finished is sent again after this
BATCH = 50

FILL_SQL = """
INSERT INTO status_mail_outbox (update_event_id, subscriber_id, next_attempt_at, created_at)
SELECT e.event_id, s.subscriber_id, $1, $1
FROM incident_events e
JOIN incidents i ON i.incident_id = e.incident_id
JOIN status_subscribers s ON s.confirmed_at IS NOT NULL AND s.confirmed_at <= e.occurred_at
WHERE e.type = 'incident.stakeholder_update_posted' AND e.event -> 'data' ->> 'audience' = 'customers'
  AND i.source <> 'drill' AND e.occurred_at >= $2
  AND NOT EXISTS (SELECT 1 FROM status_mail_outbox o WHERE o.update_event_id = e.event_id)
ON CONFLICT DO NOTHING
"""
CLAIM_SQL = """
UPDATE status_mail_outbox o SET attempts = o.attempts + 1, next_attempt_at = $1 + $2::interval
FROM (SELECT update_event_id, subscriber_id FROM status_mail_outbox
      WHERE status = 'pending' AND next_attempt_at <= $1
      ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) due
WHERE o.update_event_id = due.update_event_id AND o.subscriber_id = due.subscriber_id
RETURNING o.update_event_id, o.subscriber_id, o.attempts
"""
FACTS_SQL = """
SELECT s.email, e.incident_id, e.occurred_at, e.event -> 'data' ->> 'message' AS message, i.service,
       i.status IN ('resolved', 'closed') AS resolved, (i.priority = 'P1' OR i.major) AS severe
FROM status_subscribers s, incident_events e JOIN incidents i ON i.incident_id = e.incident_id
WHERE s.subscriber_id = $1 AND e.event_id = $2
"""

_ROW = " WHERE update_event_id = $1 AND subscriber_id = $2"
SENT_SQL = "UPDATE status_mail_outbox SET status = 'sent', sent_at = $3, last_error = NULL" + _ROW
FAILED_SQL = "UPDATE status_mail_outbox SET status = 'failed', last_error = $3" + _ROW
RETRY_SQL = "UPDATE status_mail_outbox SET next_attempt_at = $3, last_error = $4" + _ROW


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def public_id(internal: UUID) -> UUID:
    return uuid.uuid5(STATUS_NAMESPACE, str(internal))


@dataclass(frozen=True)
class UpdateMail:
    """What one mail says: the update as the status page shows it, and its links."""

    to: str
    incident_id: UUID
    update_id: UUID
    subscriber_id: UUID
    component: str
    doing: str  # "degraded", "major outage" or "resolved"
    posted_at: datetime
    message: str
    page_url: str
    unsubscribe_url: str


def compose(mail: UpdateMail, target: SmtpTarget, now: datetime) -> EmailMessage:
    """The message: text and escaped HTML, per-incident threading by public ids, RFC 8058 one-click headers."""
    when = mail.posted_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    subject = f"{mail.component}: {mail.doing}"
    text = (
        f"{subject}\n{when}\n\n{mail.message}\n\nStatus page: {mail.page_url}\n"
        f"Unsubscribe (one click, erases your address): {mail.unsubscribe_url}\n"
    )
    e = html.escape
    body = (
        f'<!doctype html><html lang="en"><body><h1>{e(subject)}</h1><p>{e(when)}</p><p>{e(mail.message)}</p>'
        f'<p><a href="{e(mail.page_url)}">Status page</a> · <a href="{e(mail.unsubscribe_url)}">Unsubscribe</a></p>'
        "</body></html>"
    )
    key = uuid.uuid5(STATUS_NAMESPACE, f"{mail.update_id}:{mail.subscriber_id}")  # the same id on a retry
    headers = thread(public_id(mail.incident_id), key, target.domain).headers()
    headers |= {"List-Unsubscribe": f"<{mail.unsubscribe_url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    return multipart(sender=target.sender, to=mail.to, subject=subject, text=text, html=body, at=now, headers=headers)


def doing(resolved: bool, severe: bool) -> str:
    return "resolved" if resolved else "major outage" if severe else "degraded"


@dataclass
class StatusMailer:
    """The worker (`run`); `tick` does one round and returns how many mails it tried."""

    pool: Pool
    target: SmtpTarget | None
    public_url: str
    names: Callable[[], Mapping[str, str]]  # the directory's service names
    clock: Clock
    tick_s: float = 1.0
    timeout_s: float = 10.0
    max_attempts: int = 6
    backoff_s: float = 1.0

    async def run(self, stop: asyncio.Event) -> None:
        if self.target is None:
            log.warning("status_mail_disabled", reason="INCIDENTS_SMTP_URL is not set", effect="no mail to subscribers")
            await stop.wait()
            return
        await every(stop, self.tick_s, self.tick)

    async def tick(self) -> int:
        now = self.clock.now()
        async with self.pool.acquire() as conn:
            await conn.execute(FILL_SQL, now, now - FRESH)
            claimed = await conn.fetch(CLAIM_SQL, now, LEASE, BATCH)
        for row in claimed:
            await self.deliver(row["update_event_id"], row["subscriber_id"], row["attempts"])
        return len(claimed)

    async def deliver(self, update_id: UUID, subscriber_id: UUID, attempt: int) -> None:
        assert self.target is not None
        mail = await self._prepare(update_id, subscriber_id)
        if mail is None:
            return  # unsubscribed meanwhile: the row went with the subscriber
        bound = log.bind(update=str(public_id(update_id)), attempt=attempt)
        try:
            await send_mail(self.target, compose(mail, self.target, self.clock.now()), timeout_s=self.timeout_s)
        except MailRefused as exc:
            final = exc.permanent or attempt >= self.max_attempts
            await self._refused(update_id, subscriber_id, exc.reply, attempt, final)
            bound.warning("status_mail_refused", reply=exc.reply, permanent=exc.permanent, final=final)
            return
        await self._record(SENT_SQL, update_id, subscriber_id, self.clock.now())
        bound.info("status_mail_sent")

    async def _prepare(self, update_id: UUID, subscriber_id: UUID) -> UpdateMail | None:
        token = secrets.token_urlsafe(32)
        async with self.pool.acquire() as conn, conn.transaction():
            facts = await conn.fetchrow(FACTS_SQL, subscriber_id, update_id)
            if facts is None:
                return None
            await conn.execute(
                "INSERT INTO status_unsubscribe_tokens (token_hash, subscriber_id, created_at) VALUES ($1, $2, $3)",
                token_hash(token),
                subscriber_id,
                self.clock.now(),
            )
        return self._mail(facts, update_id, subscriber_id, token)

    def _mail(self, facts: Any, update_id: UUID, subscriber_id: UUID, token: str) -> UpdateMail:
        service: str = facts["service"]
        return UpdateMail(
            to=facts["email"],
            incident_id=facts["incident_id"],
            update_id=update_id,
            subscriber_id=subscriber_id,
            component=self.names().get(service, service),
            doing=doing(facts["resolved"], bool(facts["severe"])),
            posted_at=facts["occurred_at"],
            message=facts["message"],
            page_url=f"{self.public_url}/status",
            unsubscribe_url=f"{self.public_url}/status/subscriptions/unsubscribe?token={token}",
        )

    async def _refused(self, update_id: UUID, subscriber_id: UUID, reply: str, attempt: int, final: bool) -> None:
        if final:
            await self._record(FAILED_SQL, update_id, subscriber_id, reply)
            return
        delay = timedelta(seconds=random.uniform(0, self.backoff_s * 2 ** (attempt - 1)))  # noqa: S311 (jitter)
        await self._record(RETRY_SQL, update_id, subscriber_id, self.clock.now() + delay, reply)

    async def _record(self, sql: str, *args: object) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(sql, *args)


def status_mailer(
    settings: EscalatorSettings, pool: Pool, services: Callable[[], Mapping[str, Service]], clock: Clock
) -> StatusMailer:
    """The worker the settings describe (the relay of INCIDENTS_SMTP_URL, the public URL of the page links)."""
    return StatusMailer(
        pool,
        smtp_target(settings),
        settings.public_url,
        lambda: {service_id: service.name for service_id, service in services().items()},
        clock,
        tick_s=max(1.0, settings.timer_tick_s),
        timeout_s=settings.smtp_timeout_s,
        max_attempts=settings.notify_max_attempts,
        backoff_s=settings.notify_backoff_s,
    )
