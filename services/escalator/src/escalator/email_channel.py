"""The email channel: a delivery's body facts as a message over SMTP (docs/decisions/0078).

A page says priority, title, service, status, why the person is paged and carries its acknowledge / open links; a
policy channel's message says the escalation, the major declaration or the stakeholder update. Each has a
plain-text and an HTML part (every fact HTML-escaped), the incident's threading headers and
`Auto-Submitted: auto-generated`. A refusal becomes the sender's `SendResult`: 4xx and connection errors are
retried with backoff, 5xx are recorded failed at once with the server's reply. Without INCIDENTS_SMTP_URL every
email delivery is recorded failed, permanently, saying so: never silent.
"""

import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any, TypeGuard
from uuid import UUID

import structlog

from escalator.channels import SENT, SendResult
from escalator.clock import Clock
from incidents_shared.domain.escalation.recipients import Delivery
from incidents_shared.mail.compose import multipart, thread
from incidents_shared.mail.settings import check_sender
from incidents_shared.mail.transport import MailRefused, SmtpTarget, send_mail

log = structlog.get_logger(__name__)

NOT_CONFIGURED = "email is not configured: INCIDENTS_SMTP_URL is not set, so this message was not sent"
LINK_LABELS = {"acknowledge": "Acknowledge", "incident": "Open the incident"}

Facts = dict[str, Any]


@dataclass(frozen=True)
class Rendered:
    """What a message says: its subject, and its lines (label, value) after a lead sentence."""

    subject: str
    lead: str
    rows: list[tuple[str, str]]
    links: list[tuple[str, str]]  # (label, http(s) URL)


def _head(facts: Facts) -> str:
    return f"[{facts.get('priority') or '-'}] {facts.get('title')}"


def _page(facts: Facts) -> str:
    why = str(facts.get("reason")) + (f", level {facts['level']}" if facts.get("level") is not None else "")
    return f"You are paged for this incident ({why})."


def _escalated(facts: Facts) -> str:
    return f"Escalated to level {facts.get('level')}, team {facts.get('team')} ({facts.get('reason')})."


def _major(facts: Facts) -> str:
    return f"Declared a major incident: {facts.get('reason')}"


def _update(facts: Facts) -> str:
    return f"Update for {facts.get('audience')}: {facts.get('message')}"


_LEADS: dict[str, tuple[str, Callable[[Facts], str]]] = {
    "incident.paged": ("you are paged", _page),
    "incident.escalated": ("escalated", _escalated),
    "incident.major_declared": ("major incident", _major),
    "incident.stakeholder_update_posted": ("update", _update),
}


def render(facts: Facts) -> Rendered:
    """The words of a message from a delivery's body facts (a page, an escalation, a major incident, an update)."""
    if facts.get("reason") == "digest":
        return _digest(facts)
    what, lead = _LEADS.get(str(facts.get("event_type")), ("update", _update))
    rows = [
        ("Priority", str(facts.get("priority") or "-")),
        ("Title", str(facts.get("title"))),
        ("Service", str(facts.get("service") or "-")),
        ("Status", str(facts.get("status"))),
        ("Incident", str(facts.get("incident_id"))),
    ]
    links = facts.get("links") or {}
    labelled = [(LINK_LABELS.get(k, k.capitalize()), u) for k, u in links.items() if _web(u)]
    subject = f"{_head(facts)} ({facts.get('service') or '-'}): {what}"
    return Rendered(subject, lead(facts), rows, labelled)


def _digest(facts: Facts) -> Rendered:
    """A paging storm's digest (decision 0075): one row and one acknowledge link per held incident."""
    listed = facts.get("incidents") or []
    rows = [(f"[{i.get('priority') or '-'}] {i.get('title')}", f"incident {i.get('incident_id')}") for i in listed]
    acks = [(f"Acknowledge [{i.get('priority') or '-'}] {i.get('title')}", (i.get("links") or {}).get("acknowledge"))
            for i in listed]  # fmt: skip
    total = facts.get("total", len(listed))
    lead = f"{total} more incidents paged you within a few minutes; one message for all of them."
    return Rendered(f"{total} incidents paged you: one digest", lead, rows, [(k, u) for k, u in acks if _web(u)])


def _web(url: object) -> TypeGuard[str]:
    return isinstance(url, str) and url.startswith(("https://", "http://")) and not any(c.isspace() for c in url)


def text_part(rendered: Rendered) -> str:
    lines = [rendered.lead, ""] + [f"{label}: {value}" for label, value in rendered.rows]
    if rendered.links:
        lines += [""] + [f"{label}: {url}" for label, url in rendered.links]
    return "\n".join(lines) + "\n"


def html_part(rendered: Rendered) -> str:
    def e(value: str) -> str:
        return html.escape(value, quote=True)

    rows = "".join(f"<tr><th align='left'>{e(label)}</th><td>{e(value)}</td></tr>" for label, value in rendered.rows)
    links = " ".join(f"<a href='{e(url)}'>{e(label)}</a>" for label, url in rendered.links)
    return (
        "<!DOCTYPE html><html><body>"
        f"<p>{e(rendered.lead)}</p><table>{rows}</table>" + (f"<p>{links}</p>" if links else "") + "</body></html>\n"
    )


def message_for(facts: Facts, incident_id: UUID, key: UUID, mailbox: str, target: SmtpTarget,
                at: datetime) -> EmailMessage:  # fmt: skip
    """The message `key` (a delivery's id) saying `facts` to `mailbox`, threaded with every other message about
    `incident_id`."""
    rendered = render(facts)
    headers = thread(incident_id, key, target.domain).headers()
    headers["X-Incident-Id"] = str(incident_id)
    return multipart(sender=target.sender, to=mailbox, subject=rendered.subject, text=text_part(rendered),
                     html=html_part(rendered), at=at, headers=headers)  # fmt: skip


class EmailChannel:
    """`ChannelSender` over SMTP. `target` None: INCIDENTS_SMTP_URL is not set, every delivery fails permanently."""

    def __init__(self, target: SmtpTarget | None, clock: Clock, *, timeout_s: float) -> None:
        self.target, self.clock, self.timeout_s = target, clock, timeout_s
        if target is None:
            log.warning("email_disabled", reason="INCIDENTS_SMTP_URL is not set", effect="email deliveries fail")

    async def send(self, delivery: Delivery, destination: str) -> SendResult:
        if self.target is None:
            return SendResult(NOT_CONFIGURED, permanent=True)
        try:
            check_sender(destination)
        except ValueError:
            return SendResult(f"{destination!r} is not a mailbox"[:500], permanent=True)
        message = message_for(delivery.body, delivery.incident_id, delivery.delivery_id, destination, self.target,
                              self.clock.now())  # fmt: skip
        try:
            await send_mail(self.target, message, timeout_s=self.timeout_s)
        except MailRefused as refused:
            _log_refused(delivery.delivery_id, refused)
            return SendResult(refused.reply, permanent=refused.permanent)
        return SENT


def _log_refused(delivery_id: UUID, refused: MailRefused) -> None:
    log.info("email_refused", delivery_id=str(delivery_id), reply=refused.reply, permanent=refused.permanent)
