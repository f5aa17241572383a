"""Every route with every role: 401 without a token, 403 with the wrong role, through the real API."""

import uuid

import httpx
import pytest

from tests.integration.helpers import auth

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
}


def _routes_in_openapi(api_url: str) -> set[tuple[str, str]]:
    spec = httpx.get(f"{api_url}/openapi.json").json()
    found = set()
    for path, operations in spec["paths"].items():
        if path.startswith("/v1/"):
            normalized = path.replace("{incident_id}", "{id}").replace("{event_id}", "{id}")
            found |= {(method.upper(), normalized) for method in operations}
    return found


def test_the_matrix_covers_every_route(api_url: str) -> None:
    assert _routes_in_openapi(api_url) == set(ALLOWED)


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
        answer = await api.request(method, url, json={}, headers=auth(tokens, role))
        if role in ALLOWED[(method, path)]:
            assert answer.status_code not in (401, 403), (role, answer.text)
        else:
            assert answer.status_code == 403, (role, answer.status_code)
            assert answer.json()["type"].endswith("/forbidden")


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
