"""Kafka frozen right after a receiver accepted a notification: it is delivered once (issue 16, decision 0079).

The receiver answers the escalator's POST only after it has SIGSTOPped the broker, so the escalator learns that
the message was accepted while the log cannot take `incident.notification_sent`. It records 'delivered' in
PostgreSQL first and, for the 30 s of the pause, retries appending the outcome, never the POST.
"""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from incidents_shared.domain.events import NotificationSent
from incidents_shared.settings import CommonSettings
from tests.faults import report
from tests.faults.ledger import Folded
from tests.faults.stack import Stack
from tests.integration.conftest import WEBHOOK_PORT
from tests.integration.helpers import auth, events_in_log, eventually, log_incident

PAUSE_S = 30


@dataclass
class FreezingReceiver:
    """Counts the POSTs about one incident; the first one freezes the broker before it is answered."""

    incident_id: str
    stack: Stack
    keys: list[str] = field(default_factory=list)
    frozen: asyncio.Event = field(default_factory=asyncio.Event)

    async def hook(self, request: Request) -> JSONResponse:
        body = await request.json()
        if body.get("incident_id") == self.incident_id:
            self.keys.append(request.headers.get("idempotency-key", ""))
            if not self.frozen.is_set():
                self.stack.pause_kafka()
                self.frozen.set()
        return JSONResponse({"ok": True})


@contextlib.asynccontextmanager
async def serving(receiver: FreezingReceiver) -> AsyncIterator[None]:
    app = Starlette(routes=[Route("/hooks/{name}", receiver.hook, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=WEBHOOK_PORT, log_config=None))
    task = asyncio.create_task(server.serve())
    for _ in range(200):  # up to 10 s to bind
        if server.started:
            break
        await asyncio.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        await task


async def _sent(api: httpx.AsyncClient, tokens: dict[str, str], incident_id: str) -> list[dict[str, Any]]:
    answer = await api.get(f"/v1/incidents/{incident_id}/timeline", headers=auth(tokens, "auditor"))
    return [e for e in answer.json()["events"] if e["type"] == "incident.notification_sent"]


async def test_broker_frozen_30s_after_a_delivery_sends_it_once(
    api: httpx.AsyncClient, tokens: dict[str, str], stack: Stack, db: asyncpg.Connection,
    settings: CommonSettings,
) -> None:  # fmt: skip
    # A P4 pages nobody at once: its customers update is the one delivery about it.
    incident_id = (await log_incident(api, tokens, title=f"frozen {uuid.uuid4()}", impact="low"))["incident_id"]
    receiver = FreezingReceiver(incident_id, stack)
    async with serving(receiver):
        update = {"audience": "customers", "message": "Payments are slow; we are on it."}
        posted = await api.post(f"/v1/incidents/{incident_id}/updates", json=update, headers=auth(tokens, "manager"))
        assert posted.status_code == 200, posted.text
        try:
            await asyncio.wait_for(receiver.frozen.wait(), 30)
            await asyncio.sleep(PAUSE_S / 2)
            status = await db.fetchval("SELECT status FROM escalator_outbox WHERE incident_id = $1", incident_id)
            assert status == "delivered", "recorded as delivered while the log cannot take the outcome"
            await asyncio.sleep(PAUSE_S / 2)
        finally:
            stack.resume_kafka()
        [sent] = await eventually(lambda: _sent(api, tokens, incident_id), 90)
        await asyncio.sleep(3)  # anything sent twice would have come by now
    assert len(receiver.keys) == 1, f"the receiver counts exactly one delivery, not {len(receiver.keys)}"
    assert len(await _sent(api, tokens, incident_id)) == 1, "one incident.notification_sent on the timeline"
    in_log = {e.event_id for e in await events_in_log(settings, incident_id) if isinstance(e, NotificationSent)}
    assert in_log == {uuid.UUID(sent["event_id"])}, "and one in the log (its id is the delivery's)"
    row = await db.fetchrow("SELECT status, attempts FROM escalator_outbox WHERE incident_id = $1", incident_id)
    assert row is not None and (row["status"], row["attempts"]) == ("sent", 1)
    assert sent["data"]["channel"] == "stakeholders"
    report.record(f"SIGSTOP the broker for {PAUSE_S} s after a delivery", None, Folded())
