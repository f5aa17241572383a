"""Every route with every role: 401 without a token, 403 with the wrong role, through the real API."""

import json
import os
import uuid
from pathlib import Path

import httpx
import pytest

from incidents_shared.settings import CommonSettings
from tests.integration.helpers import auth, events_in_log

ROLES = ("reporter", "responder", "manager", "integration", "auditor", "admin")
LIFECYCLE = (
    "categorize",
    "prioritize",
    "assign",
    "acknowledge",
    "investigate",
    "notes",
    "hold",
    "resume",
    "declare-major",
    "link",
    "resolve",
    "reopen",
)
# The directory (docs/decisions/0069): which roles get past the door; the domain's table then decides per command and
# caller (a person may change their own profile and tokens, a responder the overrides that cover them).
_READERS = {"reporter", "responder", "manager", "auditor", "admin"}
_MANAGED = ("/v1/teams", "/v1/services", "/v1/schedules")
DIRECTORY: dict[tuple[str, str], set[str]] = {
    **{("GET", p): _READERS for p in ("/v1/directory", "/v1/oncall", "/v1/users", *_MANAGED)},
    **{("GET", f"{p}/{{resource_id}}"): _READERS for p in ("/v1/users", *_MANAGED)},
    **{("GET", f"/v1/schedules/{{schedule_id}}{p}"): _READERS for p in (".ics", "/oncall", "/shifts")},
    ("POST", "/v1/users"): {"admin"},
    ("PUT", "/v1/users/{resource_id}"): set(ROLES),
    ("DELETE", "/v1/users/{resource_id}"): {"admin"},
    **{("POST", p): {"manager", "admin"} for p in _MANAGED},
    **{(m, f"{p}/{{resource_id}}"): {"manager", "admin"} for p in _MANAGED for m in ("PUT", "DELETE")},
    ("POST", "/v1/schedules/{schedule_id}/overrides"): {"responder", "manager", "admin"},
    ("DELETE", "/v1/schedules/{schedule_id}/overrides/{user}/{start}"): {"responder", "manager", "admin"},
    ("POST", "/v1/users/{user_id}/tokens"): set(ROLES),
    ("GET", "/v1/users/{user_id}/tokens"): {"admin"},
    ("DELETE", "/v1/users/{user_id}/tokens/{token_id}"): set(ROLES),
}
# Maintenance windows and heartbeats (docs/decisions/0076): managers change them, integrations ping.
_WINDOW, _HEARTBEAT = "/v1/maintenance-windows/{window_id}", "/v1/heartbeats/{name}"
NOISE: dict[tuple[str, str], set[str]] = {
    **{("GET", p): _READERS for p in ("/v1/maintenance-windows", _WINDOW, "/v1/heartbeats", _HEARTBEAT)},
    **{(m, p): {"manager", "admin"} for m, p in (("POST", "/v1/maintenance-windows"), ("PUT", _WINDOW),
                                                 ("DELETE", _WINDOW), ("POST", _HEARTBEAT), ("DELETE", _HEARTBEAT))},
    ("POST", f"{_HEARTBEAT}/ping"): {"integration", "admin"},
}  # fmt: skip
# The contract, written out: which roles may call what.
ALLOWED: dict[tuple[str, str], set[str]] = {
    ("POST", "/v1/incidents"): {"reporter", "responder", "manager", "admin"},
    ("POST", "/v1/incidents/{id}/updates"): {"reporter", "responder", "manager", "admin"},
    **{("POST", f"/v1/incidents/{{id}}/{a}"): {"responder", "manager", "admin"} for a in LIFECYCLE},
    **{("POST", f"/v1/incidents/{{id}}/{a}"): {"manager", "admin"} for a in ("escalate", "close", "review")},
    **{
        ("GET", p): {"reporter", "responder", "manager", "auditor", "admin"}
        for p in ("/v1/incidents", "/v1/incidents/{id}", "/v1/incidents/{id}/timeline")
    },
    ("GET", "/v1/events/{id}"): set(ROLES),
    **{("POST", p): {"integration", "admin"} for p in ("/v1/alerts", "/v1/alerts/alertmanager", "/v1/alerts/grafana")},
    ("GET", "/v1/incidents/{id}/audit"): {"manager", "auditor", "admin"},
    **{
        ("GET", p): {"reporter", "responder", "manager", "auditor", "admin"}
        for p in ("/v1/reports/summary", "/v1/reports/recurring")
    },
    ("GET", "/v1/operations/parked"): {"auditor", "admin"},
    ("POST", "/v1/operations/parked/{key}/release"): {"admin"},
    ("GET", "/v1/stream"): {"reporter", "responder", "manager", "auditor", "admin"},
    **DIRECTORY,
    **NOISE,
}


# No bearer token: the signed link is the credential (docs/decisions/0071); a forged one is 403 for everyone.
PUBLIC = {("GET", "/v1/page-links/{token}"), ("POST", "/v1/page-links/{token}")}
# No bearer token either: Slack's signature is the credential (docs/decisions/0080); unsigned is 401 for everyone.
SLACK_SIGNED = {("POST", "/v1/integrations/slack/commands"), ("POST", "/v1/integrations/slack/interactions")}


def _routes_in_openapi(api_url: str) -> set[tuple[str, str]]:
    spec = httpx.get(f"{api_url}/openapi.json").json()
    found = set()
    for path, operations in spec["paths"].items():
        if path.startswith("/v1/"):
            normalized = path.replace("{incident_id}", "{id}").replace("{event_id}", "{id}")
            found |= {(method.upper(), normalized) for method in operations}
    return found


def test_the_matrix_covers_every_route(api_url: str) -> None:
    assert _routes_in_openapi(api_url) == set(ALLOWED) | PUBLIC | SLACK_SIGNED


@pytest.mark.parametrize(("method", "path"), sorted(PUBLIC))
async def test_public_routes_answer_a_forged_link_with_403_whoever_asks(
    method: str, path: str, api: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    url = path.replace("{token}", "not-a-signed-link")
    for headers in ({}, *(auth(tokens, role) for role in ROLES)):
        answer = await api.request(method, url, headers=headers)
        assert answer.status_code == 403, (headers, answer.status_code)


@pytest.mark.parametrize(("method", "path"), sorted(SLACK_SIGNED))
async def test_slack_routes_answer_an_unsigned_request_with_401_whatever_bearer_token_it_carries(
    method: str, path: str, api: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for headers in ({}, *(auth(tokens, role) for role in ROLES)):
        answer = await api.request(method, path, content=b"text=help", headers=headers | form)
        assert answer.status_code == 401, (headers, answer.status_code)
        assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(("method", "path"), sorted(ALLOWED))
async def test_route_roles(method: str, path: str, api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    url = path.replace("{id}", str(uuid.uuid4()))
    anonymous = await api.request(method, url, json={})
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    bad_token = await api.request(method, url, json={}, headers={"Authorization": "Bearer not-a-real-token"})
    assert bad_token.status_code == 401
    for role in ROLES:
        # Streamed, so an endless answer (the live stream) is judged by its status without reading it all.
        async with api.stream(method, url, json={}, headers=auth(tokens, role)) as answer:
            if role in ALLOWED[(method, path)]:
                assert answer.status_code not in (401, 403), (role, answer.status_code)
            else:
                assert answer.status_code == 403, (role, answer.status_code)
                assert json.loads(await answer.aread())["type"].endswith("/forbidden")


async def test_priority_override_needs_a_manager(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    created = await api.post(
        "/v1/incidents", json={"title": "Slow search", "service": "search"}, headers=auth(tokens, "reporter")
    )
    url = f"/v1/incidents/{created.json()['incident_id']}/prioritize"
    body = {"impact": "low", "urgency": "low", "override_priority": "P1", "reason": "CEO demo tomorrow"}
    assert (await api.post(url, json=body, headers=auth(tokens, "responder"))).status_code == 403
    missing_reason = {k: v for k, v in body.items() if k != "reason"}
    assert (await api.post(url, json=missing_reason, headers=auth(tokens, "manager"))).status_code == 422
    overridden = await api.post(url, json=body, headers=auth(tokens, "manager"))
    assert overridden.status_code == 200
    assert overridden.json()["priority"] == "P1" and overridden.json()["priority_overridden"] is True


async def test_each_principal_of_the_tokens_file_acts_under_its_own_name(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings
) -> None:
    """The devstack's file names its principals (decision 0089); each name, not its role, is the actor."""
    named = _tokens_file()
    assert {entry["role"] for entry in named.values()} == set(ROLES)
    for name, entry in named.items():
        if entry["role"] not in {"reporter", "responder", "manager", "admin"}:
            continue
        headers = {"Authorization": f"Bearer {entry['token']}"}
        created = await api.post("/v1/incidents", json={"title": f"{name} logs", "service": "auth"}, headers=headers)
        assert created.status_code == 201, created.text
        (logged, *_) = await events_in_log(settings, created.json()["incident_id"])
        assert (logged.actor.id, logged.actor.role) == (name, entry["role"])
    wrong = await api.get("/v1/oncall", headers={"Authorization": "Bearer dev-admin-not-the-token"})
    assert wrong.status_code == 401 and "dev-admin-not-the-token" not in wrong.text


def _tokens_file() -> dict[str, dict[str, str]]:
    loaded: dict[str, dict[str, str]] = json.loads(Path(os.environ["INCIDENTS_TOKENS_FILE"]).read_text())
    return loaded
