"""Composed messages: both parts, the threading headers, no header injection."""

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from uuid import UUID

import pytest

from incidents_shared.mail.compose import incident_root, multipart, thread

INCIDENT = UUID("0c1f2b4e-5d6a-4b7c-8d9e-0f1a2b3c4d5e")
FIRST, SECOND = UUID("11111111-1111-4111-8111-111111111111"), UUID("22222222-2222-4222-8222-222222222222")
AT = datetime(2027, 3, 28, 8, 30, tzinfo=UTC)


def _compose(key: UUID = FIRST, subject: str = "[P2] Checkout down") -> EmailMessage:
    headers = thread(INCIDENT, key, "example.com").headers()
    return multipart(sender="Incidents <incidents@example.com>", to="ann@example.com", subject=subject,
                     text="plain words", html="<p>html words</p>", at=AT, headers=headers)  # fmt: skip


def _parsed(message: EmailMessage) -> EmailMessage:
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_a_message_has_a_text_and_an_html_alternative() -> None:
    parsed = _parsed(_compose())

    assert parsed.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in parsed.iter_parts()] == ["text/plain", "text/html"]
    text, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content().strip() == "plain words" and html.get_content().strip() == "<p>html words</p>"


def test_headers_of_an_automatic_message() -> None:
    parsed = _parsed(_compose())

    assert parsed["From"] == "Incidents <incidents@example.com>" and parsed["To"] == "ann@example.com"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["Date"] == "Sun, 28 Mar 2027 08:30:00 +0000"


def test_two_messages_about_one_incident_share_the_root_and_differ_in_id() -> None:
    one, two = _parsed(_compose(FIRST)), _parsed(_compose(SECOND))
    root = incident_root(INCIDENT, "example.com")

    assert root == f"<incident-{INCIDENT}@example.com>"
    assert one["References"] == two["References"] == one["In-Reply-To"] == two["In-Reply-To"] == root
    assert one["Message-ID"] != two["Message-ID"]
    assert one["Message-ID"] == _parsed(_compose(FIRST))["Message-ID"]  # a retry carries the same id


def test_a_title_with_a_newline_cannot_add_a_header() -> None:
    parsed = _parsed(_compose(subject="Down\r\nBcc: everyone@example.com"))

    assert parsed["Bcc"] is None and parsed["Subject"] == "Down Bcc: everyone@example.com"


def test_a_naive_date_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        multipart(sender="a@b.c", to="d@e.f", subject="s", text="t", html="h", at=datetime(2027, 1, 1))
