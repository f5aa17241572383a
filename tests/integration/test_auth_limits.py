"""Named principals and failed-login limits (issue 19 findings 5 and 4, docs/decisions/0089), on real processes.

Two API instances of their own share the session's Kafka and PostgreSQL, with a low failed-login limit and two named
principals per role from INCIDENTS_TOKEN_HASHES. Each test's client talks from its own loopback address
(127.x.y.z), so other tests' wrong tokens from 127.0.0.1 do not count against it.
"""

import os
import random
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from command_api.principals import token_hash
from incidents_shared.settings import CommonSettings
from tests.integration.helpers import auth, events_in_log, eventually
from tests.integration.services import BIN, PORT_SETTINGS, Service
from tests.integration.test_alertmanager import free_port

LIMIT, WINDOW_S = 5, 86_400  # one long window: a test never straddles two (see _clear_of_the_window_edge)
NAMED = {
    "alertmanager": ("integration", f"am-{uuid.uuid4().hex}"),
    "grafana": ("integration", f"gf-{uuid.uuid4().hex}"),
    "ci-bot": ("reporter", f"ci-{uuid.uuid4().hex}"),
    "chatops": ("reporter", f"co-{uuid.uuid4().hex}"),
}
HASHES = ",".join(f"{name}:{role}:{token_hash(token)}" for name, (role, token) in NAMED.items())
PROBLEM = "application/problem+json"


def bearer(name: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {NAMED[name][1]}", **headers}


@pytest.fixture(scope="module")
def limited(api_url: str) -> Iterator[list[str]]:
    """Two API instances (after the session's services: the projector judges their commands)."""
    env = {
        "INCIDENTS_TOKEN_HASHES": HASHES,
        "INCIDENTS_AUTH_FAILURES_PER_MIN": str(LIMIT),
        "INCIDENTS_AUTH_FAILURE_WINDOW_S": str(WINDOW_S),
    }
    apis = [Service("command-api", free_port(), env=env) for _ in range(2)]
    try:
        for api in apis:
            api.start()
        yield [api.url for api in apis]
    finally:
        codes = [api.stop() for api in apis]
    assert codes == [0, 0]


@pytest.fixture
def address() -> str:
    _clear_of_the_window_edge()
    return f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def client(url: str, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, timeout=30, transport=httpx.AsyncHTTPTransport(local_address=address))


@pytest.fixture
async def first(limited: list[str], address: str) -> AsyncIterator[httpx.AsyncClient]:
    async with client(limited[0], address) as api:
        yield api


def _clear_of_the_window_edge() -> None:
    left = WINDOW_S - time.time() % WINDOW_S
    if left < 60:
        time.sleep(left + 1)


async def test_two_integrations_are_two_actors_on_the_log(first: httpx.AsyncClient, settings: CommonSettings) -> None:
    opened = {}
    for name in ("alertmanager", "grafana"):
        alert = {"dedup_key": f"{name}-{uuid.uuid4()}", "status": "firing", "severity": "critical",
                 "summary": f"{name} sees the shop down", "service": "shop"}  # fmt: skip
        answer = await first.post("/v1/alerts", json=alert, headers=bearer(name))
        assert answer.status_code == 200, answer.text
        opened[name] = answer.json()["results"][0]["incident_id"]
    for name, incident_id in opened.items():
        events = await eventually(lambda i=incident_id: events_in_log(settings, i))
        assert (events[0].actor.id, events[0].actor.role) == (name, "integration")


async def test_two_reporters_have_their_own_idempotency_keys(
    first: httpx.AsyncClient, settings: CommonSettings
) -> None:
    key = f"same-key-{uuid.uuid4()}"
    created = {}
    for name in ("ci-bot", "chatops"):
        body = {"title": f"{name}: checkout is slow", "service": "checkout"}
        answer = await first.post("/v1/incidents", json=body, headers=bearer(name, **{"Idempotency-Key": key}))
        assert answer.status_code == 201, answer.text  # not a replay of the other's answer, nor a key conflict
        created[name] = answer.json()["incident_id"]
        again = await first.post("/v1/incidents", json=body, headers=bearer(name, **{"Idempotency-Key": key}))
        assert again.json()["incident_id"] == created[name], "each one's own key replays its own answer"
    assert created["ci-bot"] != created["chatops"]
    for name, incident_id in created.items():
        logged = (await events_in_log(settings, incident_id))[0]
        assert logged.actor.id == name


async def test_failed_logins_from_one_address_are_limited_and_not_checked(
    limited: list[str], address: str, tokens: dict[str, str]
) -> None:
    wrong = {"Authorization": f"Bearer wrong-{uuid.uuid4()}"}
    async with client(limited[0], address) as api:
        codes = [(await api.get("/v1/incidents?limit=1", headers=wrong)).status_code for _ in range(LIMIT)]
        refused = await api.get("/v1/incidents?limit=1", headers=wrong)
        valid_but_refused = await api.get("/v1/incidents?limit=1", headers=auth(tokens, "auditor"))
    assert codes == [401] * LIMIT
    for answer in (refused, valid_but_refused):
        assert answer.status_code == 429, answer.text
        assert answer.headers["content-type"] == PROBLEM
        assert answer.json()["type"].endswith("/too-many-failed-logins")
        assert 1 <= int(answer.headers["Retry-After"]) <= WINDOW_S
    async with client(limited[0], _other(address)) as elsewhere:
        still_works = await elsewhere.get("/v1/incidents?limit=1", headers=auth(tokens, "auditor"))
    assert still_works.status_code == 200, "another address is not limited"


async def test_the_count_is_shared_by_the_instances(limited: list[str], address: str) -> None:
    wrong = {"Authorization": f"Bearer wrong-{uuid.uuid4()}"}
    async with client(limited[0], address) as one, client(limited[1], address) as two:
        codes = [(await one.get("/v1/oncall", headers=wrong)).status_code for _ in range(3)]
        codes += [(await two.get("/v1/oncall", headers=wrong)).status_code for _ in range(3)]
        after = await one.get("/v1/oncall", headers=wrong)
    assert codes == [401] * LIMIT + [429], "the second instance counts the first one's failures"
    assert after.status_code == 429


async def test_successful_requests_are_not_counted(limited: list[str], address: str, tokens: dict[str, str]) -> None:
    async with client(limited[0], address) as api:
        codes = {(await api.get("/v1/oncall", headers=auth(tokens, "auditor"))).status_code for _ in range(3 * LIMIT)}
    assert codes == {200}


async def test_failed_console_sign_ins_are_limited_likewise(limited: list[str], address: str) -> None:
    form = {"token": f"inc_{uuid.uuid4().hex}"}
    async with client(limited[1], address) as console:
        codes = [(await console.post("/console/sign-in", data=form)).status_code for _ in range(LIMIT)]
        refused = await console.post("/console/sign-in", data=form)
    assert codes == [401] * LIMIT
    assert refused.status_code == 429
    assert "Too many failed sign-ins" in refused.text and 1 <= int(refused.headers["Retry-After"]) <= WINDOW_S


@pytest.mark.parametrize(
    ("entry", "named"),
    [
        ("pager:integration:deadbeef", "INCIDENTS_TOKEN_HASHES entry pager: the hash must be 64 hex digits"),
        (f"pager:wizard:{'ab' * 32}", "INCIDENTS_TOKEN_HASHES entry pager: unknown role 'wizard'"),
        (f"{HASHES},again:admin:{token_hash(NAMED['grafana'][1])}", "'again' has the same token as 'grafana'"),
    ],
)
def test_start_up_refuses_a_wrong_hash_entry_naming_it(entry: str, named: str) -> None:
    env = {**os.environ, "INCIDENTS_TOKEN_HASHES": entry, PORT_SETTINGS["command-api"]: str(free_port())}
    done = subprocess.run(
        [str(BIN / "incidents-command-api")], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2, done.stderr
    assert named in done.stderr
    assert "deadbeef" not in done.stderr and "ab" * 32 not in done.stderr
    assert token_hash(NAMED["grafana"][1]) not in done.stderr


def _other(address: str) -> str:
    head, _, last = address.rpartition(".")
    return f"{head}.{int(last) % 254 + 1}"
