"""Email over SMTP against a real server (aiosmtpd): the transport's classification of replies, then pages by email
on the real stack: one message with both parts, the facts and a working acknowledge link, threaded per incident;
a 451 is retried (sent on attempt 2), a 550 is recorded failed at once with the server's reply."""

import ipaddress
import re
import ssl
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from incidents_shared.mail.compose import multipart
from incidents_shared.mail.settings import parse_smtp_url
from incidents_shared.mail.transport import MailRefused, SmtpTarget, send_mail
from tests.integration.helpers import auth, eventually
from tests.integration.smtp import SMTP_PORT, Mail, SmtpServer, _free_port, started

pytestmark = pytest.mark.integration
SENDER = "Incidents <incidents@incidents.test>"


def a_message(to: str, subject: str = "hello") -> EmailMessage:
    return multipart(sender=SENDER, to=to, subject=subject, text="plain", html="<p>html</p>", at=datetime.now(UTC))


def a_mailbox(who: str = "ann") -> str:
    return f"{who}-{uuid.uuid4().hex[:8]}@example.com"


# --- the transport, against real servers ---------------------------------------------------------------------


def _authenticator(server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any) -> AuthResult:
    good = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"ops", b"s3cret:/@")
    return AuthResult(success=good, handled=False)  # not handled: aiosmtpd answers a failure with its 535


@pytest.fixture
def auth_server() -> Iterator[tuple[SmtpServer, int]]:
    port = _free_port()
    server, controller = started(port, authenticator=_authenticator, auth_required=True, auth_require_tls=False)
    try:
        yield server, port
    finally:
        controller.stop()


async def test_a_message_is_delivered_with_both_parts(smtp_server: SmtpServer) -> None:
    to = a_mailbox()
    await send_mail(SmtpTarget("127.0.0.1", SMTP_PORT, sender=SENDER), a_message(to), timeout_s=5)

    [mail] = smtp_server.to(to)
    assert mail.envelope_from == "incidents@incidents.test"
    assert (mail.part("plain").strip(), mail.part("html").strip()) == ("plain", "<p>html</p>")


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # a test server on loopback
async def test_authentication_with_the_urls_user_and_password(auth_server: tuple[SmtpServer, int]) -> None:
    server, port = auth_server
    to = a_mailbox()
    await send_mail(SmtpTarget("127.0.0.1", port, "ops", "s3cret:/@", sender=SENDER), a_message(to), timeout_s=5)
    assert len(server.to(to)) == 1

    with pytest.raises(MailRefused) as refused:
        await send_mail(SmtpTarget("127.0.0.1", port, "ops", "wrong", sender=SENDER), a_message(to), timeout_s=5)
    assert refused.value.permanent and refused.value.reply.startswith("SMTP 535")
    assert "wrong" not in refused.value.reply


@pytest.mark.parametrize(
    ("reply", "permanent"), [("451 4.3.0 Try again later", False), ("550 5.1.1 No such user here", True)]
)
async def test_replies_are_classified_and_kept(smtp_server: SmtpServer, reply: str, permanent: bool) -> None:
    to = a_mailbox()
    smtp_server.answer_next(1, reply, to=to)

    with pytest.raises(MailRefused) as refused:
        await send_mail(SmtpTarget("127.0.0.1", SMTP_PORT, sender=SENDER), a_message(to), timeout_s=5)

    assert (refused.value.permanent, refused.value.reply) == (permanent, f"SMTP {reply}")
    assert smtp_server.to(to) == [] and len(smtp_server.tried(to)) == 1


@pytest.fixture
def tls_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A server context with a self-signed certificate for 127.0.0.1, which this process's clients trust (OpenSSL's
    SSL_CERT_FILE): real TLS, verified, without a public CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


@pytest.mark.parametrize("mode", ["smtps", "starttls"])
async def test_tls_from_the_first_byte_or_by_starttls(tls_context: ssl.SSLContext, mode: str) -> None:
    port, to = _free_port(), a_mailbox()
    tls = {"ssl_context": tls_context} if mode == "smtps" else {"tls_context": tls_context, "require_starttls": True}
    server, controller = started(port, **tls)
    try:
        url = f"smtps://127.0.0.1:{port}" if mode == "smtps" else f"smtp://127.0.0.1:{port}?starttls=true"
        await send_mail(parse_smtp_url(url, SENDER), a_message(to), timeout_s=5)
        plain = SmtpTarget("127.0.0.1", port, sender=SENDER)
        with pytest.raises(MailRefused) as refused:  # the same server refuses a client that skips TLS
            await send_mail(plain, a_message(a_mailbox()), timeout_s=2)
    finally:
        controller.stop()
    assert len(server.to(to)) == 1
    assert not refused.value.permanent if mode == "smtps" else refused.value.reply.startswith("SMTP 530")


async def test_starttls_asked_of_a_server_without_it_is_refused_saying_so(smtp_server: SmtpServer) -> None:
    to = a_mailbox()
    target = parse_smtp_url(f"smtp://127.0.0.1:{SMTP_PORT}?starttls=true", SENDER)
    with pytest.raises(MailRefused) as refused:
        await send_mail(target, a_message(to), timeout_s=5)
    assert "STARTTLS" in refused.value.reply
    assert smtp_server.tried(to) == [], "never sent in the clear instead"


async def test_nothing_listening_is_temporary() -> None:
    with pytest.raises(MailRefused) as refused:
        await send_mail(SmtpTarget("127.0.0.1", _free_port(), sender=SENDER), a_message(a_mailbox()), timeout_s=2)
    assert not refused.value.permanent


# --- pages by email on the real stack ------------------------------------------------------------------------


async def _created(api: httpx.AsyncClient, tokens: dict[str, str], path: str, body: dict[str, Any]) -> None:
    answer = await api.post(path, json=body, headers=auth(tokens, "admin"))
    assert answer.status_code == 201, answer.text


async def mailed_team(api: httpx.AsyncClient, tokens: dict[str, str], contacts: list[dict[str, str]]) -> str:
    """A person reached by `contacts`, the only member of a team (no schedule) owning a new service: its id."""
    run = uuid.uuid4().hex[:8]
    who, team, service = f"emma-{run}", f"mail-{run}", f"mailer-{run}"
    user = {"id": who, "name": "Emma", "email": f"{who}@example.com", "time_zone": "UTC", "role": "responder",
            "contact_methods": contacts}  # fmt: skip
    await _created(api, tokens, "/v1/users", user)
    await _created(api, tokens, "/v1/teams", {"id": team, "name": "Mail", "members": [who]})
    await _created(api, tokens, "/v1/services", {"id": service, "name": "Mailer", "owner_team": team})
    return service


async def a_p2(api: httpx.AsyncClient, tokens: dict[str, str], service: str) -> tuple[str, str]:
    title = f"Mail queue stuck {uuid.uuid4().hex[:6]}"
    body = {"title": title, "service": service, "impact": "high", "urgency": "medium"}
    answer = await api.post("/v1/incidents", json=body, headers=auth(tokens, "reporter"))
    assert answer.status_code == 201, answer.text
    return answer.json()["incident_id"], title


def about(incident_id: str) -> Any:
    return lambda mail: mail.message["X-Incident-Id"] == incident_id


def acknowledge_link(mail: Mail) -> str:
    [link] = re.findall(r"^Acknowledge: (\S+)", mail.part("plain"), re.MULTILINE)
    return str(link)


async def timeline(api: httpx.AsyncClient, tokens: dict[str, str], incident_id: str) -> list[dict[str, Any]]:
    shown = await api.get(f"/v1/incidents/{incident_id}/timeline", headers=auth(tokens, "auditor"))
    assert shown.status_code == 200, shown.text
    events: list[dict[str, Any]] = shown.json()["events"]
    return events


async def outcomes(api: httpx.AsyncClient, tokens: dict[str, str], incident_id: str) -> list[dict[str, Any]]:
    kinds = ("incident.notification_sent", "incident.notification_failed")
    return [e for e in await timeline(api, tokens, incident_id) if e["type"] in kinds]


async def test_a_p2_pages_by_email_once_with_both_parts_and_a_working_link(
    api: httpx.AsyncClient, tokens: dict[str, str], smtp_server: SmtpServer
) -> None:
    mailbox = a_mailbox("emma")
    service = await mailed_team(api, tokens, [{"kind": "email", "address": mailbox}])
    incident_id, title = await a_p2(api, tokens, service)

    [mail] = await smtp_server.wait_for(about(incident_id), timeout_s=10)
    message = mail.message
    assert mail.recipients == [mailbox] and message["To"] == mailbox
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == f"[P2] {title} ({service}): you are paged"
    assert message["Auto-Submitted"] == "auto-generated"
    text, html = mail.part("plain"), mail.part("html")
    for fact in ("Priority: P2", f"Title: {title}", f"Service: {service}", "Status: new"):
        assert fact in text
    assert title in html and "Acknowledge</a>" in html

    async with httpx.AsyncClient(timeout=10) as browser:  # what a mail client's click does, without a token
        acked = await browser.post(acknowledge_link(mail), json={})
    assert acked.status_code == 200, acked.text

    async def acknowledged() -> bool:
        shown = await api.get(f"/v1/incidents/{incident_id}", headers=auth(tokens, "auditor"))
        return bool(shown.json()["status"] == "acknowledged")

    assert await eventually(acknowledged), "the link acknowledged the incident"
    sent = await eventually(lambda: _sent_on(api, tokens, incident_id, "page:email"))
    assert [e["data"]["attempt"] for e in sent] == [1]
    assert len(smtp_server.tried(mailbox)) == 1, "exactly one message"


async def test_two_messages_about_one_incident_thread_together(
    api: httpx.AsyncClient, tokens: dict[str, str], smtp_server: SmtpServer
) -> None:
    first, later = a_mailbox("emma"), a_mailbox("emma-phone")
    contacts = [{"kind": "email", "address": first}, {"kind": "email", "address": later, "delay": "2s"}]
    incident_id, _ = await a_p2(api, tokens, await mailed_team(api, tokens, contacts))

    one, two = await smtp_server.wait_for(about(incident_id), count=2, timeout_s=15)
    root = f"<incident-{incident_id}@incidents.test>"
    assert one.message["References"] == two.message["References"] == root
    assert one.message["In-Reply-To"] == two.message["In-Reply-To"] == root
    assert one.message["Message-ID"] != two.message["Message-ID"]
    await api.post(f"/v1/incidents/{incident_id}/acknowledge", json={}, headers=auth(tokens, "responder"))


async def test_a_temporary_refusal_is_retried_and_sent_on_attempt_2(
    api: httpx.AsyncClient, tokens: dict[str, str], smtp_server: SmtpServer
) -> None:
    mailbox = a_mailbox("emma")
    smtp_server.answer_next(1, "451 4.3.0 Mailbox busy, try again later", to=mailbox)
    incident_id, _ = await a_p2(api, tokens, await mailed_team(api, tokens, [{"kind": "email", "address": mailbox}]))

    [accepted] = await smtp_server.wait_for(about(incident_id), timeout_s=20)
    assert accepted.recipients == [mailbox]
    sent = await eventually(lambda: _sent_on(api, tokens, incident_id, "page:email"))
    assert [e["data"]["attempt"] for e in sent] == [2], "recorded sent, on attempt 2"
    assert [m.reply[:3] for m in smtp_server.tried(mailbox)] == ["451", "250"]
    await api.post(f"/v1/incidents/{incident_id}/acknowledge", json={}, headers=auth(tokens, "responder"))


async def test_a_permanent_refusal_is_recorded_failed_with_the_reply_and_never_retried(
    api: httpx.AsyncClient, tokens: dict[str, str], smtp_server: SmtpServer
) -> None:
    mailbox = a_mailbox("emma")
    smtp_server.answer_next(5, "550 5.1.1 No such user here", to=mailbox)
    incident_id, _ = await a_p2(api, tokens, await mailed_team(api, tokens, [{"kind": "email", "address": mailbox}]))

    async def failed() -> list[dict[str, Any]]:
        return [e for e in await outcomes(api, tokens, incident_id) if e["type"] == "incident.notification_failed"]

    [event] = await eventually(failed, timeout_s=20)
    assert (event["data"]["channel"], event["data"]["attempt"]) == ("page:email", 1)
    assert event["data"]["error"] == "SMTP 550 5.1.1 No such user here"
    await eventually(lambda: _never(), timeout_s=4)  # well past the first retry's backoff
    assert len(smtp_server.tried(mailbox)) == 1, "no retry after a 5xx"
    assert not [e for e in await outcomes(api, tokens, incident_id) if e["type"] == "incident.notification_sent"]
    await api.post(f"/v1/incidents/{incident_id}/acknowledge", json={}, headers=auth(tokens, "responder"))


async def _sent_on(api: httpx.AsyncClient, tokens: dict[str, str], incident_id: str, channel: str) -> list[Any]:
    return [
        e
        for e in await outcomes(api, tokens, incident_id)
        if e["type"] == "incident.notification_sent" and e["data"]["channel"] == channel
    ]


async def _never() -> bool:
    return False
