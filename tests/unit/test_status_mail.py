"""The escalator's status mail on plain data: what one mail to a subscriber says and carries (no I/O)."""

import uuid
from datetime import UTC, datetime

from command_api import status_view
from command_api.status_subscriptions import normalized_email, unsubscribe_headers
from escalator import status_mail
from incidents_shared.mail.transport import SmtpTarget

TARGET = SmtpTarget("127.0.0.1", 25, sender="Status <status@acme.test>")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def mail(**changes: object) -> status_mail.UpdateMail:
    fields: dict[str, object] = {
        "to": "fan@customers.test",
        "incident_id": uuid.uuid4(),
        "update_id": uuid.uuid4(),
        "subscriber_id": uuid.uuid4(),
        "component": "Checkout",
        "doing": "degraded",
        "posted_at": NOW,
        "message": "Some payments <fail>.",
        "page_url": "https://status.acme.test/status",
        "unsubscribe_url": "https://status.acme.test/status/subscriptions/unsubscribe?token=abc",
    }
    return status_mail.UpdateMail(**{**fields, **changes})  # type: ignore[arg-type]


def test_a_mail_has_both_parts_escaped_html_and_the_one_click_headers() -> None:
    message = status_mail.compose(mail(), TARGET, NOW)
    assert message["Subject"] == "Checkout: degraded" and message["To"] == "fan@customers.test"
    assert message["List-Unsubscribe"] == "<https://status.acme.test/status/subscriptions/unsubscribe?token=abc>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(("plain",))
    page = message.get_body(("html",))
    assert text is not None and "Some payments <fail>." in text.get_content()
    assert page is not None and "Some payments &lt;fail&gt;." in page.get_content()


def test_threading_names_the_incident_by_its_public_id_and_a_retry_keeps_the_message_id() -> None:
    one = mail()
    first, retry = status_mail.compose(one, TARGET, NOW), status_mail.compose(one, TARGET, NOW)
    assert first["Message-ID"] == retry["Message-ID"]
    public = status_view.public_id(one.incident_id)
    assert first["References"] == f"<incident-{public}@acme.test>" and str(one.incident_id) not in first.as_string()
    other = status_mail.compose(mail(incident_id=one.incident_id), TARGET, NOW)
    assert other["References"] == first["References"] and other["Message-ID"] != first["Message-ID"]


def test_the_escalator_and_the_page_share_one_public_namespace() -> None:
    assert status_mail.STATUS_NAMESPACE == status_view.STATUS_NAMESPACE
    some = uuid.uuid4()
    assert status_mail.public_id(some) == status_view.public_id(some)


def test_what_the_incident_is_doing_and_the_addresses_taken() -> None:
    assert [status_mail.doing(r, s) for r, s in [(True, True), (False, True), (False, False)]] == [
        "resolved", "major outage", "degraded"]  # fmt: skip
    assert normalized_email("  Fan@Customers.Test ") == "fan@customers.test"
    assert [normalized_email(bad) for bad in ["fan", "fan@", "a b@c.test", "<fan@c.test>", "fan@c.test\r\nBcc: x"]] == [
        None] * 5  # fmt: skip
    assert unsubscribe_headers("https://x/u?token=t") == {
        "List-Unsubscribe": "<https://x/u?token=t>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}  # fmt: skip
