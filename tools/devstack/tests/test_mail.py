"""`devstack mail`: the sink accepts a real SMTP message, prints its subject, recipient and links, keeps the .eml."""

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from devstack.mail import start
from incidents_shared.mail.compose import multipart
from incidents_shared.mail.transport import SmtpTarget, send_mail

ACK = "http://127.0.0.1:8000/v1/page-links/tok"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    port = _free_port()
    controller = start(tmp_path / "mail", port=port)
    try:
        yield port, tmp_path / "mail"
    finally:
        controller.stop()


async def test_a_message_is_printed_with_its_links_and_saved(
    sink: tuple[int, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    port, directory = sink
    message = multipart(sender="incidents@localhost", to="ann@example.com", subject="[P2] Card payments fail",
                        text=f"You are paged.\n\nAcknowledge: {ACK}\n", html=f"<a href='{ACK}'>Acknowledge</a>",
                        at=datetime.now(UTC))  # fmt: skip

    await send_mail(SmtpTarget("127.0.0.1", port, sender="incidents@localhost"), message, timeout_s=5)

    printed = capsys.readouterr().out
    assert "MAIL to ann@example.com: [P2] Card payments fail" in printed
    assert f"     {ACK}" in printed
    [saved] = list(directory.glob("*.eml"))
    assert message_from_bytes(saved.read_bytes(), policy=policy.default)["Subject"] == "[P2] Card payments fail"
