"""Slack both ways on the real stack: the escalator pages the on-call by Slack in Block Kit, and pressing the
message's own Acknowledge button (signed as Slack signs it) acknowledges as that person and stops the later steps.
The page is received by a real HTTP receiver standing in for Slack's incoming webhook."""

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from command_api.slack.signature import sign
from incidents_shared.domain.events import event_type
from incidents_shared.settings import CommonSettings
from tests.integration.conftest import WEBHOOK_PORT
from tests.integration.helpers import auth, events_in_log, eventually
from tests.integration.services import Service
from tests.integration.webhook import Received, Receiver, running_receiver

pytestmark = pytest.mark.integration
PAGES = f"http://127.0.0.1:{WEBHOOK_PORT}/hooks"


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver(WEBHOOK_PORT) as running:
        yield running


async def created(api: httpx.AsyncClient, tokens: dict[str, str], path: str, body: dict[str, Any]) -> None:
    answer = await api.post(path, json=body, headers=auth(tokens, "admin"))
    assert answer.status_code == 201, answer.text


async def on_call_by_slack(api: httpx.AsyncClient, tokens: dict[str, str]) -> tuple[str, str, str]:
    """A person on call for a team owning a service, paged by Slack first: (user, their Slack id, service)."""
    run = uuid.uuid4().hex[:8]
    user, slack, team, service = f"sue-{run}", f"U{run.upper()}", f"chat-{run}", f"chat-svc-{run}"
    contacts = [{"kind": "slack", "address": f"{PAGES}/slack-{user}"},
                {"kind": "webhook", "address": f"{PAGES}/slack-{user}-later", "delay": "5s"}]  # fmt: skip
    await created(api, tokens, "/v1/users", {"id": user, "name": "Sue", "email": f"{user}@example.com",
                                             "time_zone": "UTC", "role": "responder", "contact_methods": contacts,
                                             "slack_user_id": slack})  # fmt: skip
    start = (datetime.now(UTC) - timedelta(minutes=30)).replace(microsecond=0)
    layer = {"name": "daily", "start": start.isoformat(), "turn": "P1D", "users": [user]}
    schedule = {"id": f"{team}-rota", "name": "Chat rota", "time_zone": "UTC", "layers": [layer]}
    await created(api, tokens, "/v1/schedules", schedule)
    await created(api, tokens, "/v1/teams", {"id": team, "name": "Chat", "members": [user], "schedule": schedule["id"]})
    await created(api, tokens, "/v1/services", {"id": service, "name": "Chat", "owner_team": team})
    return user, slack, service


def press(secret: str, slack: str, action: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """The request Slack sends when `slack` presses `action` (a button of our message)."""
    payload = {"type": "block_actions", "user": {"id": slack}, "actions": [action | {"type": "button"}]}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    timestamp = str(int(time.time()))
    headers = {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": sign(secret, timestamp, body),
               "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
    return body, headers


async def test_the_pages_own_acknowledge_button_acknowledges_as_the_paged_user(
    api: httpx.AsyncClient,
    tokens: dict[str, str],
    settings: CommonSettings,
    receiver: Receiver,
    services: dict[str, Service],
) -> None:
    user, slack, service = await on_call_by_slack(api, tokens)
    logged = await api.post(
        "/v1/incidents",
        json={"title": "Chat <pages> fail", "service": service, "impact": "high", "urgency": "medium"},
        headers=auth(tokens, "reporter"),
    )
    assert logged.status_code == 201, logged.text
    incident_id = logged.json()["incident_id"]

    async def paged() -> list[Received]:
        return [r for r in receiver.about(incident_id) if r.path == f"/hooks/slack-{user}"]

    [page] = await eventually(paged, timeout_s=20)
    assert "Chat &lt;pages&gt; fail" in page.body["text"], "the escaped fallback text"
    [actions] = [block for block in page.body["blocks"] if block["type"] == "actions"]
    buttons = {button["action_id"]: button for button in actions["elements"]}
    assert set(buttons) == {"incident.acknowledge", "incident.resolve", "incident.open"}
    assert "/v1/page-links/" in buttons["incident.open"]["url"]

    secret = services["command-api"].env["INCIDENTS_SLACK_SIGNING_SECRET"]
    acknowledge = buttons["incident.acknowledge"]
    body, headers = press(secret, slack, {"action_id": acknowledge["action_id"], "value": acknowledge["value"]})
    answer = await api.post("/v1/integrations/slack/interactions", content=body, headers=headers)
    assert answer.status_code == 200 and answer.json()["text"].startswith("Acknowledged: [P2]"), answer.text
    events = await events_in_log(settings, incident_id)
    [ack] = [e for e in events if event_type(type(e)) == "incident.acknowledged"]
    assert ack.actor.id == user, "acknowledged as the Slack user's directory user"

    await asyncio.sleep(7)  # past the second contact method's 5 s delay: it must not go out
    later = [r for r in receiver.about(incident_id) if r.path == f"/hooks/slack-{user}-later"]
    assert later == [], "the second contact method went out after the acknowledgement"
