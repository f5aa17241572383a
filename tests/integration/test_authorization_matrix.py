"""The authorization table (docs/decisions/0090) against the real API: every route of the OpenAPI schema that takes
an incident or an event id, with every role and a second integration, on an object of the caller's own and on a
foreign one, answers what the table says; and what a refusal would have sent never reaches the log or `/status`.

Own objects: for a person the incident it logged and that command's event; for an integration the incident its
alert opened and that alert's event. The two integrations send the same dedup key: namespacing gives them two
incidents, and neither can act on or read the other's."""

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from incidents_shared.domain import alert_decisions as route
from incidents_shared.domain import authorization as z
from incidents_shared.domain import commands as c
from incidents_shared.domain.codec import canonical_bytes
from incidents_shared.domain.enums import Role, Source
from incidents_shared.settings import CommonSettings
from tests.integration.helpers import auth, eventually
from tests.integration.rawlog import logged_event, produce
from tests.integration.test_auth import ROLES

SECOND = "integration-b"  # a directory user with the integration role and a personal token
PRINCIPALS = (*ROLES, SECOND)


@dataclass(frozen=True)
class Thing:
    """An incident and an event, and whose they are."""

    incident_id: str
    event_id: str
    owner: str  # the principal id that wrote them


@dataclass
class World:
    tokens: dict[str, str]  # principal name -> token
    ids: dict[str, str]  # principal name -> principal id as the log names it
    own: dict[str, Thing]  # principal name -> its own incident and event
    key: str  # the dedup key both integrations sent


def _role(principal: str) -> str:
    return Role.INTEGRATION.value if principal == SECOND else principal


async def _verdict(api: httpx.AsyncClient, token: str, event_id: str) -> dict[str, Any]:
    async def judged() -> dict[str, Any] | None:
        answer = await api.get(f"/v1/events/{event_id}", headers={"Authorization": f"Bearer {token}"})
        return answer.json() if answer.status_code == 200 else None

    found = await eventually(judged)
    assert found and found["verdict"] == "accepted", found
    return dict(found)


async def _logged_by(api: httpx.AsyncClient, token: str, title: str) -> Thing:
    headers = {"Authorization": f"Bearer {token}", "Prefer": "respond-async"}
    answer = await api.post("/v1/incidents", json={"title": title, "service": "authz"}, headers=headers)
    assert answer.status_code == 202, answer.text
    event_id = answer.json()["event_id"]
    verdict = await _verdict(api, token, event_id)
    shown = (await api.get(f"/v1/incidents/{verdict['incident_id']}", headers=headers)).json()
    return Thing(verdict["incident_id"], event_id, shown["reporter"])


async def _alert(api: httpx.AsyncClient, token: str, key: str, status: str = "firing") -> dict[str, Any]:
    body = {"dedup_key": key, "status": status, "summary": f"{key} {status}", "service": "authz"}
    answer = await api.post("/v1/alerts", json=body, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    [result] = answer.json()["results"]
    return dict(result)


async def _opened_by_alert(api: httpx.AsyncClient, token: str, key: str, admin: dict[str, str]) -> Thing:
    result = await _alert(api, token, key)
    assert result["outcome"] == "opened", result
    verdict = await _verdict(api, token, result["event_id"])
    assert verdict["incident_id"] == result["incident_id"]
    shown = await eventually(lambda: _shown(api, admin, result["incident_id"]))
    return Thing(result["incident_id"], result["event_id"], shown["reporter"])


async def _shown(api: httpx.AsyncClient, headers: dict[str, str], incident_id: str) -> dict[str, Any] | None:
    answer = await api.get(f"/v1/incidents/{incident_id}", headers=headers)
    return answer.json() if answer.status_code == 200 else None


async def _second_integration(api: httpx.AsyncClient, tokens: dict[str, str]) -> str:
    user_id = f"int-{uuid.uuid4().hex[:8]}"
    body = {"id": user_id, "name": "Second monitor", "email": f"{user_id}@example.com", "time_zone": "UTC"}
    created = await api.post("/v1/users", json={**body, "role": "integration"}, headers=auth(tokens, "admin"))
    assert created.status_code == 201, created.text
    issued = await api.post(f"/v1/users/{user_id}/tokens", json={"label": "monitor"}, headers=auth(tokens, "admin"))
    assert issued.status_code == 201, issued.text
    return str(issued.json()["token"])


async def _world(api: httpx.AsyncClient, tokens: dict[str, str]) -> World:
    every = {**tokens, SECOND: await _second_integration(api, tokens)}
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    key = f"authz-{uuid.uuid4().hex[:8]}"
    own: dict[str, Thing] = {}
    for name in ("integration", SECOND):
        own[name] = await _opened_by_alert(api, every[name], key, admin)
    for name in ("reporter", "responder", "manager", "admin"):
        own[name] = await _logged_by(api, every[name], f"{name}'s own incident")
    assert own["integration"].incident_id != own[SECOND].incident_id, "one key, two integrations, two incidents"
    ids = {name: thing.owner for name, thing in own.items()}
    ids["auditor"] = "an auditor logs nothing"
    assert (await api.get(f"/v1/incidents/{own['admin'].incident_id}", headers=admin)).status_code == 200
    return World(every, ids, own, key)


def _id_routes(spec: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted(
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        if path.startswith("/v1/") and ("{incident_id}" in path or "{event_id}" in path)
        for method in operations
    )


def _example(spec: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    body = spec["paths"][path][method.lower()].get("requestBody", {}).get("content", {}).get("application/json", {})
    schema = body.get("schema", {})
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].split("/")[-1]]
    examples = schema.get("examples") or [{}]
    return dict(examples[0])


def _expected_refusal(
    method: str, path: str, principal: str, world: World, thing: Thing, body: dict[str, Any]
) -> str | None:
    """The table's rule for this cell, or None when it allows it."""
    role, actor = _role(principal), world.ids[principal]
    if method == "GET":
        grant_route = f"GET {path}"
        owner = thing.owner if "{event_id}" in path else None
        refusal = z.read_refusal(grant_route, role, actor, owner)
    else:
        command_type = ACTION_COMMANDS[path.split("/")[-1]]
        try:
            command = command_type.model_validate(body)
        except ValidationError:
            command = command_type.model_construct()  # no example: a 422 unless the door refuses first
        refusal = z.command_refusal(role, actor, command, thing.owner)
    return refusal.rule if refusal is not None else None


ACTION_COMMANDS: dict[str, type[c.Command]] = {
    "categorize": c.Categorize, "prioritize": c.Prioritize, "assign": c.Assign, "acknowledge": c.Acknowledge,
    "investigate": c.StartInvestigation, "notes": c.AddNote, "hold": c.PutOnHold, "resume": c.Resume,
    "escalate": c.Escalate, "declare-major": c.DeclareMajor, "updates": c.PostUpdate, "link": c.Link,
    "resolve": c.Resolve, "reopen": c.Reopen, "close": c.Close, "review": c.CompleteReview,
}  # fmt: skip


async def test_every_id_route_every_role_own_and_foreign_answers_as_the_table_says(
    api: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    spec = (await api.get("/openapi.json")).json()
    world = await _world(api, tokens)
    routes = _id_routes(spec)
    assert {path.split("/")[-1] for m, path in routes if m == "POST"} == set(ACTION_COMMANDS)
    assert len(routes) == len(ACTION_COMMANDS) + 4, routes  # incident, timeline, audit, verdict
    cells = 0
    for method, path in routes:
        body = _example(spec, method, path) if method == "POST" else {}
        for principal in PRINCIPALS:
            foreign = world.own["integration" if principal != "integration" else SECOND]
            objects = {"own": world.own.get(principal), "foreign": foreign}
            for which, thing in objects.items():
                if thing is None:
                    continue  # an auditor owns nothing
                url = path.replace("{incident_id}", thing.incident_id).replace("{event_id}", thing.event_id)
                headers = {"Authorization": f"Bearer {world.tokens[principal]}"}
                answer = await api.request(method, url, json=body if method == "POST" else None, headers=headers)
                rule = _expected_refusal(method, path, principal, world, thing, body)
                cell = (method, path, principal, which, answer.status_code, answer.text[:300])
                if rule is None:
                    assert answer.status_code in (200, 202, 409, 422), cell
                else:
                    assert answer.status_code == 403, cell
                    assert answer.headers["content-type"] == "application/problem+json", cell
                    assert answer.json()["rule"] == rule, cell
                cells += 1
    assert cells == len(routes) * (len(PRINCIPALS) * 2 - 1)


async def test_an_integration_acts_and_reads_only_on_its_own(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    world = await _world(api, tokens)
    mine, theirs = world.own["integration"], world.own[SECOND]
    resolved = await _alert(api, world.tokens[SECOND], world.key, "resolved")
    assert resolved["outcome"] == "resolved" and resolved["incident_id"] == theirs.incident_id, resolved
    reader = auth(tokens, "auditor")
    assert (await _shown(api, reader, mine.incident_id) or {}).get("status") == "new", "the other's stays open"
    again = await _alert(api, world.tokens["integration"], world.key)
    assert again["outcome"] == "correlated" and again["incident_id"] == mine.incident_id, again
    for who, event, status in ((SECOND, mine, 403), ("integration", theirs, 403), ("integration", mine, 200)):
        answer = await api.get(f"/v1/events/{event.event_id}", headers={"Authorization": f"Bearer {world.tokens[who]}"})
        assert answer.status_code == status, (who, answer.text)
        if status == 403:
            assert answer.json()["rule"] == "own-objects-only"
            assert mine.incident_id not in answer.text and theirs.incident_id not in answer.text
    for role in ("reporter", "auditor", "admin"):
        assert (await api.get(f"/v1/events/{theirs.event_id}", headers=auth(tokens, role))).status_code == 200


async def test_a_legacy_alert_incident_stays_its_openers_and_no_one_elses(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings
) -> None:
    """An incident opened before 0090 has its id from the bare key: its opener's alerts still correlate there,
    another integration's open an incident of their own."""
    world = await _world(api, tokens)
    key = f"legacy-{uuid.uuid4().hex[:8]}"
    legacy_id = route.episode_id(key, 0)
    opener = world.ids["integration"]
    logged = logged_event(legacy_id, reporter=opener, source=Source.ALERT, dedup_key=key, service="authz")
    await produce(settings, str(legacy_id), canonical_bytes(logged))
    assert await eventually(lambda: _shown(api, auth(tokens, "auditor"), str(legacy_id)))
    other = await _alert(api, world.tokens[SECOND], key)
    assert other["outcome"] == "opened" and other["incident_id"] != str(legacy_id), other
    same = await _alert(api, world.tokens["integration"], key)
    assert same["outcome"] == "correlated" and same["incident_id"] == str(legacy_id), same
    gone = await _alert(api, world.tokens[SECOND], key, "resolved")
    assert gone["incident_id"] == other["incident_id"], gone
    assert (await _shown(api, auth(tokens, "auditor"), str(legacy_id)) or {}).get("status") == "new"


@pytest.mark.parametrize("role", ["reporter", "responder"])
async def test_a_refused_customers_update_is_not_on_the_log_nor_on_the_status_page(
    role: str, api: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    service = f"authz-{uuid.uuid4().hex[:8]}"
    created = await api.post("/v1/incidents", json={"title": "Slow", "service": service}, headers=auth(tokens, role))
    assert created.status_code == 201, created.text
    incident_id = created.json()["incident_id"]
    refused_text, posted_text = f"REFUSED-{service}", f"POSTED-{service}"
    url = f"/v1/incidents/{incident_id}/updates"
    refused = await api.post(url, json={"audience": "customers", "message": refused_text}, headers=auth(tokens, role))
    assert refused.status_code == 403 and refused.json()["rule"] == "customers-audience", refused.text
    internal = await api.post(url, json={"audience": "stakeholders", "message": "ok"}, headers=auth(tokens, role))
    assert internal.status_code == 200, internal.text
    posted = await api.post(
        url, json={"audience": "customers", "message": posted_text}, headers=auth(tokens, "manager")
    )
    assert posted.status_code == 200, posted.text

    async def on_status_page() -> str | None:
        page = (await api.get("/status")).text
        return page if posted_text in page else None

    page = await eventually(on_status_page)
    assert page and refused_text not in page, "the manager's update shows, the refused one never"
    timeline = (await api.get(f"/v1/incidents/{incident_id}/timeline", headers=auth(tokens, "auditor"))).json()
    messages = [e["data"].get("message") for e in timeline["events"] if e["type"].endswith("update_posted")]
    assert messages == ["ok", posted_text]


async def test_only_a_manager_starts_a_drill(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    title = f"Game day {uuid.uuid4()}"
    body: dict[str, Any] = {"title": title, "service": "authz", "drill": True}
    for role in ("reporter", "responder"):
        refused = await api.post("/v1/incidents", json=body, headers=auth(tokens, role))
        assert refused.status_code == 403 and refused.json()["rule"] == "drill", refused.text
    listed = (await api.get("/v1/incidents", params={"q": title}, headers=auth(tokens, "auditor"))).json()
    assert listed["items"] == []
    started = await api.post("/v1/incidents", json=body, headers=auth(tokens, "manager"))
    assert started.status_code == 201 and started.json()["source"] == "drill", started.text
