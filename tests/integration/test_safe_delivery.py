"""Safe delivery on the real stack (issue 16, item 4; decision 0079): the target guard, destinations resolved when
sent and never stored.

The sender runs in this process, with the real HTTP channel, PostgreSQL and Kafka, on an outbox partition the
session's escalator does not own (it owns the log's partitions, 0 to 3), so each test decides how it is guarded.
"""

import asyncio
import os
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from escalator.channels import ChannelSender
from escalator.clock import SystemClock
from escalator.destinations import Destinations
from escalator.http_channel import HttpChannel
from escalator.ownership import Ownership
from escalator.sender import Sender
from escalator.store import write_judged
from escalator.targets import Allowances
from incidents_shared.appender import KafkaAppender
from incidents_shared.db import Pool, create_pool
from incidents_shared.domain.escalation.book import PolicyBook
from incidents_shared.domain.escalation.destinations import ChannelRef
from incidents_shared.domain.escalation.fold import Outcome
from incidents_shared.domain.escalation.people import People
from incidents_shared.domain.escalation.policy import Channel, ChannelKind, Policy
from incidents_shared.domain.escalation.recipients import Delivery
from incidents_shared.domain.oncall import oncall_at
from incidents_shared.settings import CommonSettings
from tests.integration.conftest import ESCALATOR_ENV, WEBHOOK_PORT
from tests.integration.helpers import auth, eventually, log_incident
from tests.integration.services import BIN, SPARE_PORT
from tests.integration.test_oncall_paging import a_p2, a_rota, paged_at
from tests.integration.webhook import Receiver, running_receiver

OUTBOX_PARTITION = 99  # no log partition: the session's escalator never picks these rows
SECRET = f"T0-{uuid.uuid4().hex}"  # the secret part of the hook's URL, as in a Slack incoming webhook


@pytest.fixture(scope="module")
def hook_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
async def receiver(hook_port: int) -> AsyncIterator[Receiver]:
    async with running_receiver(hook_port) as running:
        yield running


@pytest.fixture
async def pool(settings: CommonSettings) -> AsyncIterator[Pool]:
    made = await create_pool(settings)
    try:
        yield made
    finally:
        await made.close()


def _book(hook_port: int) -> PolicyBook:
    url = f"http://127.0.0.1:{hook_port}/hooks/{SECRET}"
    return PolicyBook(Policy(id="guard-test", version=1, priorities={},
                             channels={"guarded": Channel(kind=ChannelKind.WEBHOOK, url=url)}))  # fmt: skip


async def _deliver(
    settings: CommonSettings, pool: Pool, book: PolicyBook, allow: Allowances, delivery: Delivery
) -> None:
    """Queue `delivery` and let a sender with `allow` deliver it and record its outcome."""
    async with pool.acquire() as conn:
        await write_judged(conn, Outcome(deliveries=[delivery]))
    appender = KafkaAppender(settings, 5.0)
    await appender.start()
    try:
        async with httpx.AsyncClient(follow_redirects=False) as http:
            web = HttpChannel(http, allow, timeout_s=5.0)
            channels: dict[ChannelKind, ChannelSender] = {ChannelKind.WEBHOOK: web}
            sender = Sender(pool, appender, channels, Destinations(book, People), SystemClock(),
                            Ownership([OUTBOX_PARTITION]), tick_s=0.1, max_attempts=3, backoff_s=0.1,
                            concurrency=10)  # fmt: skip
            try:
                for _ in range(50):
                    await sender.tick()
                    await asyncio.gather(*sender.in_flight.values())
                    status = await _status(pool, delivery)
                    if status in ("sent", "failed"):
                        return
                    await asyncio.sleep(0.1)
            finally:
                await sender.claims.close()  # its claims connection goes back to the pool (run() does this)
    finally:
        await appender.stop()


async def _status(pool: Pool, delivery: Delivery) -> str:
    async with pool.acquire() as conn:
        return str(
            await conn.fetchval("SELECT status FROM escalator_outbox WHERE delivery_id = $1", delivery.delivery_id)
        )


async def _delivery(api: httpx.AsyncClient, tokens: dict[str, str], channel: str) -> Delivery:
    incident_id = (await log_incident(api, tokens, impact="low", urgency="low"))["incident_id"]
    body = {"incident_id": incident_id, "event_type": "incident.stakeholder_update_posted", "message": "guarded"}
    return Delivery(uuid.uuid4(), uuid.UUID(incident_id), uuid.uuid4(), OUTBOX_PARTITION, channel,
                    ChannelKind.WEBHOOK, ChannelRef(channel), "customers", body)  # fmt: skip


async def _outcomes(api: httpx.AsyncClient, tokens: dict[str, str], incident_id: uuid.UUID) -> list[dict[str, Any]]:
    answer = await api.get(f"/v1/incidents/{incident_id}/timeline", headers=auth(tokens, "auditor"))
    kinds = ("incident.notification_sent", "incident.notification_failed")
    return [e for e in answer.json()["events"] if e["type"] in kinds]


async def test_a_loopback_webhook_is_refused_when_the_guard_is_on(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings, pool: Pool, receiver: Receiver,
    hook_port: int, db: asyncpg.Connection,
) -> None:  # fmt: skip
    delivery = await _delivery(api, tokens, "guarded")
    await _deliver(settings, pool, _book(hook_port), Allowances(private=False, http=True), delivery)

    row = await db.fetchrow("SELECT status, attempts, last_error FROM escalator_outbox WHERE delivery_id = $1",
                            delivery.delivery_id)  # fmt: skip
    assert row is not None and (row["status"], row["attempts"]) == ("failed", 1), "refused at once, never retried"
    assert "127.0.0.1" in row["last_error"] and "loopback" in row["last_error"], row["last_error"]
    assert receiver.requests == [], "the receiver on 127.0.0.1 got nothing"
    [failed] = await eventually(lambda: _outcomes(api, tokens, delivery.incident_id), 15)
    assert failed["type"] == "incident.notification_failed" and "loopback" in failed["data"]["error"]
    assert SECRET not in str(failed) and SECRET not in row["last_error"], "the URL's secret is recorded nowhere"


async def test_allowed_the_same_target_gets_it_once_and_its_url_is_stored_nowhere(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings, pool: Pool, receiver: Receiver,
    hook_port: int, db: asyncpg.Connection,
) -> None:  # fmt: skip
    delivery = await _delivery(api, tokens, "guarded")
    await _deliver(settings, pool, _book(hook_port), Allowances(private=True, http=True), delivery)

    assert [r.path for r in receiver.requests] == [f"/hooks/{SECRET}"]
    assert receiver.requests[0].idempotency_key == str(delivery.delivery_id)
    [sent] = await eventually(lambda: _outcomes(api, tokens, delivery.incident_id), 15)
    assert sent["type"] == "incident.notification_sent" and sent["data"]["channel"] == "guarded"
    columns = {r["column_name"] for r in await db.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'escalator_outbox'")}  # fmt: skip
    assert "url" not in columns and "destination" in columns
    row = await db.fetchrow("SELECT row_to_json(o)::text AS whole, destination::text FROM escalator_outbox o"
                            " WHERE delivery_id = $1", delivery.delivery_id)  # fmt: skip
    assert row is not None and SECRET not in row["whole"] and row["destination"] == '{"channel": "guarded"}'


async def test_a_channel_gone_from_the_policy_file_is_recorded_failed_saying_so(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings, pool: Pool, receiver: Receiver,
    hook_port: int,
) -> None:  # fmt: skip
    delivery = await _delivery(api, tokens, "removed-meanwhile")
    await _deliver(settings, pool, _book(hook_port), Allowances(private=True, http=True), delivery)

    [failed] = await eventually(lambda: _outcomes(api, tokens, delivery.incident_id), 15)
    assert failed["type"] == "incident.notification_failed"
    assert "'removed-meanwhile' is no longer in the policy file in force" in failed["data"]["error"]
    assert receiver.requests == []


def _start_escalator(**allow: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **ESCALATOR_ENV, "INCIDENTS_ESCALATOR_HTTP_PORT": str(SPARE_PORT)}
    for name in ("INCIDENTS_ALLOW_PRIVATE_TARGETS", "INCIDENTS_ALLOW_HTTP_TARGETS"):
        env.pop(name, None)
    return subprocess.run([str(BIN / "incidents-escalator")], env={**env, **allow}, capture_output=True, text=True,
                          timeout=90, check=False)  # fmt: skip


def test_the_escalator_refuses_to_start_on_channels_the_guard_refuses() -> None:
    hooks = f"http://127.0.0.1:{WEBHOOK_PORT}"
    guarded = _start_escalator()
    assert guarded.returncode == 2
    assert f"channels.oncall: {hooks}: plain http refused (https is required" in guarded.stderr
    assert "/hooks/" not in guarded.stderr, "naming scheme and host, not the URL's path"
    http_allowed = _start_escalator(INCIDENTS_ALLOW_HTTP_TARGETS="true")
    assert http_allowed.returncode == 2
    assert f"channels.leads: {hooks}: 127.0.0.1 is a loopback address, refused" in http_allowed.stderr


async def test_a_page_records_scheme_and_host_only_and_goes_where_the_directory_says(
    api: httpx.AsyncClient, tokens: dict[str, str], db: asyncpg.Connection
) -> None:
    async with running_receiver(WEBHOOK_PORT) as hooks:
        rota = await a_rota(api, tokens)  # contact methods: webhooks at /hooks/page-<user>
        incident_id, answered = await a_p2(api, tokens, rota["service"])
        paged = oncall_at(rota["schedule"], answered).user
        assert paged is not None
        [got] = await eventually(lambda: _async(paged_at(hooks, f"/hooks/page-{paged}")), 15)

        async def pages() -> list[dict[str, Any]]:
            answer = await api.get(f"/v1/incidents/{incident_id}/timeline", headers=auth(tokens, "auditor"))
            return [e for e in answer.json()["events"] if e["type"] == "incident.paged"]

        [page] = await eventually(pages, 15)
    assert page["data"]["contact"] == {"index": 0, "kind": "webhook", "address": f"http://127.0.0.1:{WEBHOOK_PORT}"}
    assert got.body["page_id"] == page["data"]["page_id"]
    for table in ("escalator_outbox", "escalator_timers", "incident_events"):
        dumped = await db.fetchval(f"SELECT coalesce(json_agg(t)::text, '') FROM {table} t WHERE incident_id = $1",
                                   uuid.UUID(incident_id))  # fmt: skip
        assert f"page-{paged}" not in dumped, f"{table} holds the contact method's URL"


async def _async(value: Any) -> Any:
    return value
