"""Slack in, on the real stack: requests signed as Slack signs them, sent to the session's command API.

A signed button press acknowledges as the Slack user's directory user; a forged signature, a stale timestamp and a
replay get 401 and add nothing to the log; every subcommand of `/incident` works; an unlinked Slack user changes
nothing. What the user caused is counted on the Kafka topic itself (their events), not in the read model.
"""

import json
import secrets
import time
from urllib.parse import urlencode
from uuid import uuid4

import httpx
import pytest

from command_api.slack.signature import sign
from incidents_shared.domain.events import EventBase, event_type
from incidents_shared.settings import CommonSettings
from tests.integration.helpers import auth, events_in_log, log_incident
from tests.integration.services import Service

pytestmark = pytest.mark.integration
PROBLEM = "application/problem+json"
INTERACTIONS, COMMANDS = "/v1/integrations/slack/interactions", "/v1/integrations/slack/commands"


@pytest.fixture(scope="module")
def secret(services: dict[str, Service]) -> str:
    """The signing secret the session's API verifies with (tests/integration/conftest.py API_ENV)."""
    return services["command-api"].env["INCIDENTS_SLACK_SIGNING_SECRET"]


def slack_id() -> str:
    return "U" + secrets.token_hex(5).upper()


async def linked_user(api: httpx.AsyncClient, tokens: dict[str, str], role: str = "responder") -> tuple[str, str]:
    """A directory user linked to a fresh Slack member id: (user id, Slack id)."""
    user, slack = f"slacker-{uuid4().hex[:10]}", slack_id()
    body = {"id": user, "name": "Sam Slack", "email": f"{user}@example.com", "time_zone": "Europe/Amsterdam",
            "role": role, "slack_user_id": slack}  # fmt: skip
    response = await api.post("/v1/users", json=body, headers=auth(tokens, "admin"))
    assert response.status_code == 201, response.text
    assert response.json()["slack_user_id"] == slack
    return user, slack


def signed(secret: str, body: bytes, at: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if at is None else at))
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": sign(secret, timestamp, body),
    }


def button(slack: str, action_id: str, incident_id: str) -> bytes:
    payload = {"type": "block_actions", "user": {"id": slack, "username": "sam"}, "team": {"id": "T1DC2JH3J"},
               "actions": [{"action_id": action_id, "block_id": "incident.actions", "value": incident_id,
                            "type": "button"}]}  # fmt: skip
    return urlencode({"payload": json.dumps(payload)}).encode()


def command(slack: str, text: str) -> bytes:
    fields = {"token": "unused", "team_id": "T1DC2JH3J", "user_id": slack, "user_name": "sam",
              "command": "/incident", "text": text,
              "response_url": "https://hooks.slack.com/commands/T1DC2JH3J/1/x"}  # fmt: skip
    return urlencode(fields).encode()


async def slash(api: httpx.AsyncClient, secret: str, slack: str, text: str) -> str:
    body = command(slack, text)
    answer = await api.post(COMMANDS, content=body, headers=signed(secret, body))
    assert answer.status_code == 200, answer.text
    assert answer.json()["response_type"] == "ephemeral"
    text_shown: str = answer.json()["text"]
    return text_shown


async def by(settings: CommonSettings, incident_id: str, user: str) -> list[str]:
    """The types of the incident's events that `user` caused, in log order."""
    events: list[EventBase] = await events_in_log(settings, incident_id)
    return [event_type(type(e)) for e in events if e.actor.id == user]


async def test_a_signed_acknowledge_button_acknowledges_as_the_linked_user(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings, secret: str
) -> None:
    user, slack = await linked_user(api, tokens)
    incident_id = (await log_incident(api, tokens, title="Slack <button> press"))["incident_id"]
    body = button(slack, "incident.acknowledge", incident_id)
    answer = await api.post(INTERACTIONS, content=body, headers=signed(secret, body))
    assert answer.status_code == 200, answer.text
    assert answer.json()["text"].startswith("Acknowledged: [P2] Slack &lt;button&gt; press (checkout), status: ackn")
    assert await by(settings, incident_id, user) == ["incident.acknowledged"]
    shown = (await api.get(f"/v1/incidents/{incident_id}", headers=auth(tokens, "auditor"))).json()
    assert shown["status"] == "acknowledged"

    body = button(slack, "incident.resolve", incident_id)
    answer = await api.post(INTERACTIONS, content=body, headers=signed(secret, body))
    assert answer.json()["text"].startswith("Resolved: "), answer.text
    assert await by(settings, incident_id, user) == ["incident.acknowledged", "incident.resolved"]


async def test_forged_stale_and_replayed_requests_get_401_and_add_nothing(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings, secret: str
) -> None:
    user, slack = await linked_user(api, tokens)
    incident_id = (await log_incident(api, tokens, title="Slack forgeries"))["incident_id"]
    ack = button(slack, "incident.acknowledge", incident_id)
    note = command(slack, f"note {incident_id} replayed note")
    genuine = signed(secret, ack)
    attempts = {
        "unsigned": (ack, {"Content-Type": "application/x-www-form-urlencoded"}),
        "another secret": (ack, signed("not-the-secret", ack)),
        "a changed body": (ack.replace(slack.encode(), slack_id().encode()), genuine),
        "stale, signed": (ack, signed(secret, ack, at=time.time() - 6 * 60)),
        "from the future, signed": (ack, signed(secret, ack, at=time.time() + 6 * 60)),
        "a timestamp not signed": (ack, genuine | {"X-Slack-Request-Timestamp": str(int(time.time()) - 1)}),
    }
    for what, (body, headers) in attempts.items():
        for path in (INTERACTIONS, COMMANDS):
            answer = await api.post(path, content=body, headers=headers)
            assert answer.status_code == 401, (what, path, answer.text)
            assert answer.headers["content-type"] == PROBLEM and answer.json()["status"] == 401
    assert await by(settings, incident_id, user) == [], "a refused request appended something"

    headers = signed(secret, note)
    first = await api.post(COMMANDS, content=note, headers=headers)
    assert first.status_code == 200 and first.json()["text"].startswith("Noted on: "), first.text
    replay = await api.post(COMMANDS, content=note, headers=headers)
    assert replay.status_code == 401 and "replay" in replay.json()["detail"], replay.text
    assert await by(settings, incident_id, user) == ["incident.note_added"], "the replay added a second note"


async def test_every_subcommand_of_incident_runs_as_the_linked_user(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings, secret: str
) -> None:
    user, slack = await linked_user(api, tokens)
    assert "/incident new P2 payments Checkout fails" in await slash(api, secret, slack, "help")
    assert "unknown subcommand 'page'" in await slash(api, secret, slack, "page everyone")

    logged = await slash(api, secret, slack, "new P1 checkout Cards <declined> from Slack")
    assert logged.startswith("Logged: [P1] Cards &lt;declined&gt; from Slack (checkout), status: new"), logged
    incident_id = logged.rsplit(" ", 1)[-1]
    assert await by(settings, incident_id, user) == ["incident.logged"]

    assert (await slash(api, secret, slack, f"ack {incident_id} on it")).startswith("Acknowledged: [P1]")
    assert (await slash(api, secret, slack, f"note {incident_id} pool exhausted")).startswith("Noted on: [P1]")
    shown = await slash(api, secret, slack, f"status {incident_id}")
    assert shown.startswith("[P1] Cards &lt;declined&gt; from Slack (checkout), status: acknowledged"), shown
    resolved = await slash(api, secret, slack, f"resolve {incident_id} card processor restarted")
    assert resolved.startswith("Resolved: [P1] Cards &lt;declined&gt; from Slack (checkout), status: resolved")
    assert await by(settings, incident_id, user) == [
        "incident.logged", "incident.acknowledged", "incident.note_added", "incident.resolved",
    ]  # fmt: skip
    timeline = (await api.get(f"/v1/incidents/{incident_id}/timeline", headers=auth(tokens, "auditor"))).json()
    [resolution] = [e for e in timeline["events"] if e["type"] == "incident.resolved"]
    assert resolution["data"]["summary"] == "card processor restarted"

    again = await slash(api, secret, slack, f"ack {incident_id}")
    assert again.startswith("Not done: "), again
    assert "priority: 'P9' is not one of" in await slash(api, secret, slack, "new P9 checkout Nope")
    assert "incident id: 'nope'" in await slash(api, secret, slack, "ack nope")
    assert "summary: " in await slash(api, secret, slack, f"resolve {incident_id}")
    assert await by(settings, incident_id, user) == [
        "incident.logged", "incident.acknowledged", "incident.note_added", "incident.resolved",
    ], "a refused subcommand appended something"  # fmt: skip


async def test_oncall_names_whoever_the_teams_schedule_has_on_call_now(
    api: httpx.AsyncClient, tokens: dict[str, str], secret: str
) -> None:
    user, slack = await linked_user(api, tokens)
    team, rota = f"slackers-{uuid4().hex[:8]}", f"slack-rota-{uuid4().hex[:8]}"
    layer = {"name": "weekly", "start": "2026-01-05T09:00:00", "turn": "P1W", "users": [user]}
    schedule = {"id": rota, "name": "Slack rota", "time_zone": "Europe/Amsterdam", "layers": [layer]}
    for path, body in (("/v1/schedules", schedule), ("/v1/teams", {"id": team, "name": "S", "members": [user],
                                                                   "schedule": rota})):  # fmt: skip
        created = await api.post(path, json=body, headers=auth(tokens, "admin"))
        assert created.status_code == 201, created.text
    answer = await slash(api, secret, slack, f"oncall {team}")
    assert answer == f"{team}: {user}", answer  # the only one on the rota: on call with no end in sight
    assert f"\n{team}: {user}\n" in "\n" + await slash(api, secret, slack, "oncall") + "\n"
    assert "No team 'no-such-team'" in await slash(api, secret, slack, "oncall no-such-team")


async def test_a_reporter_may_log_but_not_acknowledge_from_slack(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings, secret: str
) -> None:
    user, slack = await linked_user(api, tokens, role="reporter")
    incident_id = (await log_incident(api, tokens, title="Slack reporter"))["incident_id"]
    body = button(slack, "incident.acknowledge", incident_id)
    answer = await api.post(INTERACTIONS, content=body, headers=signed(secret, body))
    refused = "Not done: your role (reporter) may not do this (the incident would be acknowledged)."
    assert answer.json()["text"] == refused
    assert await by(settings, incident_id, user) == []
    assert (await slash(api, secret, slack, "new P3 checkout Reported from Slack")).startswith("Logged: [P3]")


async def test_an_unlinked_slack_user_is_told_how_to_link_and_changes_nothing(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings, secret: str
) -> None:
    stranger = slack_id()
    incident_id = (await log_incident(api, tokens, title="Slack stranger"))["incident_id"]
    body = button(stranger, "incident.acknowledge", incident_id)
    answer = await api.post(INTERACTIONS, content=body, headers=signed(secret, body))
    assert answer.status_code == 200, answer.text
    assert f"slack_user_id: {stranger}" in answer.json()["text"] and "nothing was done" in answer.json()["text"]
    told = await slash(api, secret, stranger, f"ack {incident_id}")
    assert f"slack_user_id: {stranger}" in told
    types = [event_type(type(e)) for e in await events_in_log(settings, incident_id)]
    assert "incident.acknowledged" not in types, types
    shown = (await api.get(f"/v1/incidents/{incident_id}", headers=auth(tokens, "auditor"))).json()
    assert shown["status"] == "new"


async def test_a_signed_request_slack_never_sends_is_a_400_naming_the_field(
    api: httpx.AsyncClient, secret: str
) -> None:
    for body in (b"payload=not-json", b"text=hello", b"payload=%FF"):
        answer = await api.post(INTERACTIONS, content=body, headers=signed(secret, body))
        assert answer.status_code == 400 and answer.headers["content-type"] == PROBLEM, answer.text
        assert answer.json()["detail"].startswith(("payload:", "body:")), answer.text
    raw = b"\xff\xfe=1"
    answer = await api.post(COMMANDS, content=raw, headers=signed(secret, raw))
    assert answer.status_code == 400 and answer.json()["detail"].startswith("body:"), answer.text
