"""Slack across command API instances on the real stack: a request accepted by one instance is a replay at another
(the seen signatures are in PostgreSQL, not in memory), and an instance without a signing secret has no Slack
routes (404) and does nothing."""

import json
import time
from collections.abc import Iterator
from urllib.parse import urlencode
from uuid import uuid4

import httpx
import pytest

from command_api.slack.signature import sign
from incidents_shared.domain.events import event_type
from incidents_shared.settings import CommonSettings
from tests.integration.helpers import auth, events_in_log, eventually, log_incident
from tests.integration.services import Service
from tests.integration.test_alertmanager import free_port

pytestmark = pytest.mark.integration
NOTE = "/v1/integrations/slack/commands"


@pytest.fixture(scope="module")
def secret(services: dict[str, Service]) -> str:
    return services["command-api"].env["INCIDENTS_SLACK_SIGNING_SECRET"]


@pytest.fixture(scope="module")
def twin_api(secret: str, services: dict[str, Service]) -> Iterator[str]:
    """A second command API of the same deployment: the same log, database and signing secret."""
    api = Service("command-api", free_port(), env={"INCIDENTS_SLACK_SIGNING_SECRET": secret})
    api.start()
    try:
        yield api.url
    finally:
        assert api.stop() == 0


@pytest.fixture(scope="module")
def slackless_api(services: dict[str, Service]) -> Iterator[str]:
    """A command API without INCIDENTS_SLACK_SIGNING_SECRET."""
    api = Service("command-api", free_port(), env={"INCIDENTS_SLACK_SIGNING_SECRET": ""})
    api.start()
    try:
        yield api.url
    finally:
        assert api.stop() == 0


async def linked(api: httpx.AsyncClient, tokens: dict[str, str]) -> tuple[str, str]:
    user, slack = f"twin-{uuid4().hex[:10]}", "U" + uuid4().hex[:10].upper()
    body = {"id": user, "name": "Tess Twin", "email": f"{user}@example.com", "time_zone": "UTC",
            "role": "responder", "slack_user_id": slack}  # fmt: skip
    assert (await api.post("/v1/users", json=body, headers=auth(tokens, "admin"))).status_code == 201
    return user, slack


def signed_note(secret: str, slack: str, incident_id: str) -> tuple[bytes, dict[str, str]]:
    body = urlencode({"user_id": slack, "command": "/incident", "text": f"note {incident_id} once only"}).encode()
    timestamp = str(int(time.time()))
    headers = {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": sign(secret, timestamp, body),
               "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
    return body, headers


async def notes_by(settings: CommonSettings, incident_id: str, user: str) -> int:
    events = await events_in_log(settings, incident_id)
    return sum(1 for e in events if e.actor.id == user and event_type(type(e)) == "incident.note_added")


async def test_a_request_one_instance_took_is_a_replay_at_the_other(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings, secret: str, twin_api: str
) -> None:
    user, slack = await linked(api, tokens)
    incident_id = (await log_incident(api, tokens, title="Slack twins"))["incident_id"]
    body, headers = signed_note(secret, slack, incident_id)
    async with httpx.AsyncClient(base_url=twin_api, timeout=30) as twin:

        async def twin_knows_the_user() -> bool:
            return (await twin.get(f"/v1/users/{user}", headers=auth(tokens, "admin"))).status_code == 200

        assert await eventually(twin_knows_the_user), "the twin never folded the new user"
        first = await twin.post(NOTE, content=body, headers=headers)
        assert first.status_code == 200 and first.json()["text"].startswith("Noted on: "), first.text
    replay = await api.post(NOTE, content=body, headers=headers)
    assert replay.status_code == 401 and "replay" in replay.json()["detail"], replay.text
    assert await notes_by(settings, incident_id, user) == 1


async def test_without_a_signing_secret_the_slack_routes_are_404_and_do_nothing(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings, secret: str, slackless_api: str
) -> None:
    user, slack = await linked(api, tokens)
    incident_id = (await log_incident(api, tokens, title="Slack off"))["incident_id"]
    body, headers = signed_note(secret, slack, incident_id)
    async with httpx.AsyncClient(base_url=slackless_api, timeout=30) as off:
        for path in (NOTE, "/v1/integrations/slack/interactions"):
            answer = await off.post(path, content=body, headers=headers)
            assert answer.status_code == 404, answer.text
            assert answer.headers["content-type"] == "application/problem+json"
            assert "INCIDENTS_SLACK_SIGNING_SECRET" in json.loads(answer.text)["detail"]
    assert await notes_by(settings, incident_id, user) == 0
