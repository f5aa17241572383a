"""The directory over HTTP on the real stack: CRUD with ETag / If-Match / Idempotency-Key, every refusal naming the
field or the resources, who may change what, the whole directory as of a time, and the records on the topic."""

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from incidents_shared.settings import CommonSettings
from tests.integration.helpers import auth, topic_end

pytestmark = pytest.mark.usefixtures("services")


def tag() -> str:
    return uuid.uuid4().hex[:8]


def a_user(user_id: str, **change: Any) -> dict[str, Any]:
    body = {"id": user_id, "name": user_id.title(), "email": f"{user_id}@example.com", "time_zone": "Europe/Amsterdam"}
    methods = [{"kind": "webhook", "address": f"https://hooks.example.com/{user_id}"}]
    return body | {"role": "responder", "contact_methods": methods} | change


def a_schedule(schedule_id: str, *users: str) -> dict[str, Any]:
    layer = {"name": "primary", "start": "2027-01-04T09:00:00", "turn": "P1D", "users": list(users)}
    return {"id": schedule_id, "name": "Rota", "time_zone": "Europe/Amsterdam", "layers": [layer]}


class Directory:
    """Calls of one test, as admin unless told otherwise."""

    def __init__(self, api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
        self.api, self.tokens = api, tokens

    async def send(
        self, method: str, path: str, body: Any = None, role: str = "admin", **headers: str
    ) -> httpx.Response:
        return await self.api.request(method, path, json=body, headers=auth(self.tokens, role, **headers))

    async def create(self, path: str, body: dict[str, Any], role: str = "admin") -> dict[str, Any]:
        response = await self.send("POST", path, body, role)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


@pytest.fixture
def directory(api: httpx.AsyncClient, tokens: dict[str, str]) -> Directory:
    return Directory(api, tokens)


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def named_field(body: dict[str, Any]) -> set[str]:
    """Every field a problem names: `field`, and each error's location without the body/query prefix."""
    named = {body["field"]} if "field" in body else set()
    return named | {".".join(error["loc"][1:]) for error in body.get("errors", [])}


async def test_a_user_is_created_read_replaced_and_deleted_with_etags(
    directory: Directory, settings: CommonSettings
) -> None:
    ann = f"ann-{tag()}"
    before = await topic_end(settings, settings.directory_topic)
    sent = a_user(ann, contact_methods=[{"kind": "email", "address": "ann@example.com", "delay": "5m"}])
    response = await directory.send("POST", "/v1/users", sent)
    assert response.status_code == 201, response.text
    assert (response.headers["etag"], response.headers["location"]) == ('"1"', f"/v1/users/{ann}")
    assert response.json() == sent | {
        "contact_methods": [{"kind": "email", "address": "ann@example.com", "delay": "PT5M"}]
    }
    shown = await directory.send("GET", f"/v1/users/{ann}", role="reporter")
    assert (shown.status_code, shown.headers["etag"], shown.json()) == (200, '"1"', response.json())

    renamed = a_user(ann, name="Ann Bakker")
    replaced = await directory.send("PUT", f"/v1/users/{ann}", renamed, **{"If-Match": '"1"'})
    assert (replaced.status_code, replaced.headers["etag"], replaced.json()["name"]) == (200, '"2"', "Ann Bakker")
    stale = problem(await directory.send("PUT", f"/v1/users/{ann}", renamed, **{"If-Match": '"1"'}), 412)
    assert stale["current_revision"] == 2
    listed = (await directory.send("GET", "/v1/users", role="auditor")).json()["users"]
    assert [user["name"] for user in listed if user["id"] == ann] == ["Ann Bakker"]

    gone = await directory.send("DELETE", f"/v1/users/{ann}", **{"If-Match": '"2"'})
    assert (gone.status_code, gone.headers["etag"]) == (204, '"3"')
    problem(await directory.send("GET", f"/v1/users/{ann}"), 404)
    assert await topic_end(settings, settings.directory_topic) == before + 3  # created, replaced, deleted


async def test_an_idempotency_key_replays_the_first_answer_and_refuses_another_body(
    directory: Directory, settings: CommonSettings
) -> None:
    ann, team = f"ann-{tag()}", f"team-{tag()}"
    await directory.create("/v1/users", a_user(ann))
    before = await topic_end(settings, settings.directory_topic)
    body = {"id": team, "name": "Payments", "members": [ann]}
    key = {"Idempotency-Key": f"create-{team}"}
    first = await directory.send("POST", "/v1/teams", body, role="manager", **key)
    again = await directory.send("POST", "/v1/teams", body, role="manager", **key)
    assert first.status_code == again.status_code == 201, again.text
    assert (again.json(), again.headers["etag"]) == (first.json(), first.headers["etag"])
    other = problem(await directory.send("POST", "/v1/teams", body | {"name": "P"}, role="manager", **key), 422)
    assert other["type"].endswith("/idempotency-key-reused")
    # The key is the manager's: another principal's same key is its own request (and the team exists by now).
    assert "id" in named_field(problem(await directory.send("POST", "/v1/teams", body, **key), 409))
    deletes = [await directory.send("DELETE", f"/v1/teams/{team}", role="manager", **{"Idempotency-Key": "d"})]
    deletes.append(await directory.send("DELETE", f"/v1/teams/{team}", role="manager", **{"Idempotency-Key": "d"}))
    assert [d.status_code for d in deletes] == [204, 204]
    assert await topic_end(settings, settings.directory_topic) == before + 2  # one create, one delete


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/v1/users", {"time_zone": "Mars/Olympus"}, 422, "time_zone"),
        ("/v1/users", {"time_zone": "Europe"}, 422, "time_zone"),
        ("/v1/users", {"email": "not-an-address"}, 422, "email"),
        ("/v1/users", {"contact_methods": [{"kind": "pager", "address": "1"}]}, 422, "contact_methods.0.kind"),
        ("/v1/users", {"id": "Not A Slug"}, 422, "id"),
        ("/v1/teams", {"members": ["{known}", "nobody-{tag}"]}, 422, "members.1"),
        ("/v1/teams", {"schedule": "no-such-{tag}"}, 422, "schedule"),
        ("/v1/services", {"owner_team": "no-such-{tag}"}, 422, "owner_team"),
        ("/v1/services", {"tier": 9}, 422, "tier"),
        ("/v1/schedules", {"time_zone": "Europe/Atlantis"}, 422, "time_zone"),
        (
            "/v1/schedules",
            {"layers": [{"name": "l", "start": "2027-01-04T09:00", "turn": "P1D", "users": ["nobody-{tag}"]}]},
            422,
            "layers.0.users.0",
        ),
        (
            "/v1/schedules",
            {"layers": [{"name": "l", "start": "2027-01-04T09:00", "turn": "P1D1H", "users": ["a"]}]},
            422,
            "layers.0.turn",
        ),
    ],
)
async def test_a_bad_body_is_refused_naming_the_field(
    directory: Directory, path: str, body: dict[str, Any], status: int, field: str
) -> None:
    known, suffix = f"known-{tag()}", tag()
    await directory.create("/v1/users", a_user(known))
    base = {
        "/v1/users": a_user(f"new-{suffix}"),
        "/v1/teams": {"id": f"team-{suffix}", "name": "T", "members": []},
        "/v1/services": {"id": f"svc-{suffix}", "name": "S", "owner_team": "x"},
        "/v1/schedules": a_schedule(f"rota-{suffix}", known),
    }[path]
    filled = {k: _fill(v, known, suffix) for k, v in body.items()}
    refused = problem(await directory.send("POST", path, base | filled), status)
    assert field in named_field(refused), refused


def _fill(value: Any, known: str, suffix: str) -> Any:
    if isinstance(value, str):
        return value.replace("{known}", known).replace("{tag}", suffix)
    if isinstance(value, list):
        return [_fill(item, known, suffix) for item in value]
    if isinstance(value, dict):
        return {k: _fill(v, known, suffix) for k, v in value.items()}
    return value


async def test_refusals_of_the_directory_name_what_is_wrong(directory: Directory) -> None:
    ann, rota = f"ann-{tag()}", f"rota-{tag()}"
    await directory.create("/v1/users", a_user(ann))
    assert named_field(problem(await directory.send("POST", "/v1/users", a_user(ann)), 409)) == {"id"}
    missing = f"gone-{tag()}"
    problem(await directory.send("PUT", f"/v1/users/{missing}", a_user(missing)), 404)
    mismatch = problem(await directory.send("PUT", f"/v1/users/{ann}", a_user(f"other-{tag()}")), 422)
    assert mismatch["field"] == "id"
    problem(await directory.send("PUT", f"/v1/users/{ann}", a_user(ann), **{"If-Match": "yesterday"}), 400)

    await directory.create("/v1/schedules", a_schedule(rota, ann), role="manager")
    in_use = problem(await directory.send("DELETE", f"/v1/users/{ann}"), 409)
    assert in_use["by"] == {"schedules": [rota]} and rota in in_use["detail"]
    overrides = f"/v1/schedules/{rota}/overrides"
    cover = {"user": ann, "start": "2027-03-28T10:00:00Z", "end": "2027-03-28T14:00:00Z"}
    await directory.create(overrides, cover, role="manager")
    overlap = cover | {"start": "2027-03-28T13:00:00Z", "end": "2027-03-28T15:00:00Z"}
    assert named_field(problem(await directory.send("POST", overrides, overlap), 422)) == {"start"}
    inverted = cover | {"start": "2027-03-29T10:00:00Z", "end": "2027-03-29T09:00:00Z"}
    assert "end" in named_field(problem(await directory.send("POST", overrides, inverted), 422))
    stranger = cover | {"user": f"nobody-{tag()}", "start": "2027-04-01T10:00:00Z", "end": "2027-04-01T11:00:00Z"}
    assert named_field(problem(await directory.send("POST", overrides, stranger), 422)) == {"user"}
    at = problem(await directory.send("GET", f"/v1/schedules/{rota}/oncall?at=2027-03-28T12:00:00"), 422)
    assert "at" in named_field(at)


async def test_who_may_change_what(directory: Directory) -> None:
    suffix = tag()
    team = {"id": f"team-{suffix}", "name": "T", "members": []}
    forbidden = problem(await directory.send("POST", "/v1/teams", team, role="responder"), 403)
    assert "responder" in forbidden["detail"]
    problem(await directory.send("POST", "/v1/users", a_user(f"u-{suffix}"), role="manager"), 403)
    problem(await directory.send("GET", "/v1/users", role="integration"), 403)
    await directory.create("/v1/teams", team, role="manager")
    await directory.create("/v1/users", a_user(f"u-{suffix}"))
    problem(await directory.api.post("/v1/users", json=a_user(f"w-{suffix}")), 401)


async def test_the_whole_directory_as_of_before_and_after_a_change(directory: Directory) -> None:
    ann, rota = f"ann-{tag()}", f"rota-{tag()}"
    await directory.create("/v1/users", a_user(ann))
    await directory.create("/v1/schedules", a_schedule(rota, ann), role="manager")
    before = datetime.now(UTC).isoformat()
    cover = {"user": ann, "start": "2027-05-01T10:00:00Z", "end": "2027-05-01T11:00:00Z"}
    await directory.create(f"/v1/schedules/{rota}/overrides", cover, role="manager")

    now = (await directory.send("GET", "/v1/directory", role="reporter")).json()
    assert set(now) == {"users", "teams", "services", "schedules"}
    [schedule] = [s for s in now["schedules"] if s["id"] == rota]
    assert schedule["overrides"] == [
        {"user": ann, "start": "2027-05-01T10:00:00.000000Z", "end": "2027-05-01T11:00:00.000000Z"}
    ]
    assert [u for u in now["users"] if u["id"] == ann] == [(await directory.send("GET", f"/v1/users/{ann}")).json()]
    then = await directory.api.get("/v1/directory", params={"as_of": before}, headers=auth(directory.tokens, "admin"))
    [earlier] = [s for s in then.json()["schedules"] if s["id"] == rota]
    assert earlier["overrides"] == []
    naive = await directory.api.get(
        "/v1/directory", params={"as_of": "2027-01-01T00:00:00"}, headers=auth(directory.tokens, "admin")
    )
    assert "as_of" in named_field(problem(naive, 422))
