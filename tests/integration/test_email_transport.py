"""The SMTP transport against real servers (aiosmtpd): delivery with both parts, AUTH with the URL's user and
password, implicit TLS and STARTTLS with a certificate the client verifies, and the classification of refusals
(4xx and connection failures temporary, 5xx permanent, the server's reply kept)."""

import ipaddress
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from incidents_shared.mail.settings import parse_smtp_url
from incidents_shared.mail.transport import MailRefused, SmtpTarget, send_mail
from tests.integration.smtp import SMTP_FROM, SMTP_PORT, SmtpServer, _free_port, a_mailbox, a_message, started

pytestmark = pytest.mark.integration
SENDER = SMTP_FROM


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
