"""Subscribing is rate limited: per client a token bucket (429 with Retry-After, on an API with a burst of 2), per
mailbox quietly (three confirmations, then the same answer and no mail); a newer confirmation replaces the older."""

import asyncio
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.integration.conftest import API_ENV
from tests.integration.services import Service
from tests.integration.smtp import SmtpServer
from tests.integration.test_alertmanager import free_port
from tests.integration.test_status_page import link

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def strict_api() -> Iterator[str]:
    """A second command API on the same log and database that takes two subscription requests per client, then
    one per 1,000 s."""
    limits = {"INCIDENTS_STATUS_SUBSCRIBE_BURST": "2", "INCIDENTS_STATUS_SUBSCRIBE_PER_S": "0.001"}
    api = Service("command-api", free_port(), env={**API_ENV, **limits})
    api.start()
    try:
        yield api.url
    finally:
        assert api.stop() == 0


async def test_a_client_past_its_burst_gets_429_with_retry_after(strict_api: str) -> None:
    async with httpx.AsyncClient(base_url=strict_api, timeout=30) as api:
        answers = [
            await api.post("/status/subscriptions", json={"email": f"burst-{n}-{uuid.uuid4().hex[:6]}@customers.test"})
            for n in range(3)
        ]
    assert [a.status_code for a in answers] == [202, 202, 429]
    refused = answers[2]
    assert refused.headers["content-type"] == "application/problem+json" and int(refused.headers["Retry-After"]) > 1


async def test_a_mailbox_gets_three_confirmations_and_only_the_newest_link_confirms(
    api: httpx.AsyncClient, smtp_server: SmtpServer
) -> None:
    address = f"eager-{uuid.uuid4().hex[:8]}@customers.test"
    answers = [(await api.post("/status/subscriptions", json={"email": address})).json() for _ in range(4)]
    assert all(a == answers[0] for a in answers)  # the same answer whether mailed or not
    mails = await smtp_server.wait_for(lambda m: address in m.recipients, count=3)
    await asyncio.sleep(2)  # the fourth would have been sent right after its answer
    assert len(smtp_server.to(address)) == 3
    tokens = [parse_qs(urlsplit(link(m, "/status/subscriptions/confirm")).query)["token"][0] for m in mails]
    assert len(set(tokens)) == 3
    shown = [(await api.get(f"/status/subscriptions/confirm?token={token}")).status_code for token in tokens]
    assert sorted(shown) == [200, 404, 404]  # only the newest request's link is pending
    valid = tokens[shown.index(200)]
    assert (await api.post("/status/subscriptions/confirm", data={"token": valid})).status_code == 200
