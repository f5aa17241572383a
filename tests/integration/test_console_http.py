"""The console's sessions, CSRF, headers and stream over plain HTTP against the real stack: what a browser
relies on but cannot easily show (cookie flags, server-side sign-out, refusals that append nothing)."""

import asyncio
import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from incidents_shared.domain.events import IncidentAcknowledged
from incidents_shared.settings import CommonSettings
from tests.integration.helpers import auth, events_in_log, eventually, log_incident
from tests.integration.test_console_browser import Responder, a_responder

pytestmark = pytest.mark.usefixtures("services")
CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


@pytest.fixture
async def browser(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client that behaves like a form-posting browser of this origin."""
    async with httpx.AsyncClient(base_url=api_url, timeout=30, headers={"Origin": api_url}) as client:
        yield client


async def signed_in(browser: httpx.AsyncClient, person: Responder) -> str:
    """Signs in; returns the page's CSRF token."""
    answer = await browser.post("/console/sign-in", data={"token": person.token})
    assert (answer.status_code, answer.headers["location"]) == (303, "/console/"), answer.text
    queue = await browser.get("/console/")
    assert queue.status_code == 200, queue.text
    found = CSRF.search(queue.text)
    assert found is not None
    return found.group(1)


async def test_sign_in_sets_a_strict_http_only_cookie_and_sign_out_ends_it_on_the_server(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    pat = await a_responder(api, tokens, "Pat Session")
    answer = await browser.post("/console/sign-in", data={"token": pat.token})
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("incidents_console=") and pat.token not in cookie
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite", "path", "max-age"} <= flags and "secure" not in flags  # http devstack
    assert "samesite=strict" in cookie.lower() and "path=/console" in cookie.lower()
    page = await browser.get("/console/")
    assert "Pat Session" in page.text and page.headers["content-security-policy"].startswith("default-src 'none'")
    csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    stolen = browser.cookies["incidents_console"]

    assert (await browser.post("/console/sign-out", data={"csrf": csrf})).status_code == 303
    async with httpx.AsyncClient(base_url=str(browser.base_url), cookies={"incidents_console": stolen}) as thief:
        replayed = await thief.get("/console/")
    assert (replayed.status_code, replayed.headers["location"]) == (303, "/console/sign-in?ended=1")
    assert "Your session ended" in (await browser.get(replayed.headers["location"])).text


async def test_only_working_personal_tokens_sign_in(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    for wrong in ("inc_not-a-token", tokens["responder"], ""):  # unknown, a role token (no person), empty
        answer = await browser.post("/console/sign-in", data={"token": wrong})
        assert answer.status_code == 401 and "personal token" in answer.text and "set-cookie" not in answer.headers
    pat = await a_responder(api, tokens, "Pat Foreign")
    foreign = await browser.post("/console/sign-in", data={"token": pat.token}, headers={"Origin": "https://evil.test"})
    assert foreign.status_code == 403 and "set-cookie" not in foreign.headers


async def test_revoking_the_token_ends_the_session(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    pat = await a_responder(api, tokens, "Pat Revoked")
    await signed_in(browser, pat)
    listed = (await api.get(f"/v1/users/{pat.user_id}/tokens", headers=auth(tokens, "admin"))).json()["tokens"]
    revoked = await api.delete(f"/v1/users/{pat.user_id}/tokens/{listed[0]['id']}", headers=auth(tokens, "admin"))
    assert revoked.status_code == 204, revoked.text

    async def signed_out() -> bool:
        return (await browser.get("/console/")).status_code == 303

    assert await eventually(signed_out)


async def test_a_form_without_the_csrf_token_is_refused_and_appends_nothing(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings
) -> None:
    pat = await a_responder(api, tokens, "Pat Csrf")
    csrf = await signed_in(browser, pat)
    incident = await log_incident(api, tokens)
    path = f"/console/incidents/{incident['incident_id']}/acknowledge"
    for forged in ({}, {"csrf": "0" * 64}):
        refused = await browser.post(path, data={"revision": str(incident["revision"]), **forged})
        assert refused.status_code == 403, refused.text
    logged = await events_in_log(settings, incident["incident_id"])
    assert not [e for e in logged if isinstance(e, IncidentAcknowledged)]

    done = await browser.post(path, data={"revision": str(incident["revision"]), "csrf": csrf})
    assert done.status_code == 303, done.text
    page = await browser.get(done.headers["location"])
    assert 'id="incident-status">acknowledged<' in page.text and "Pat Csrf" in page.text


async def test_bad_input_is_a_4xx_page_never_a_500(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    csrf = await signed_in(browser, await a_responder(api, tokens, "Pat Input"))
    assert (await browser.get("/console/", params={"priority": "P9"})).status_code == 422
    assert (await browser.get("/console/", params={"sort": "nope", "breached": "maybe"})).status_code == 422
    assert (await browser.get("/console/queue", params={"q": "x" * 501})).status_code == 422
    assert (await browser.get("/console/incidents/not-a-uuid")).status_code == 422
    unknown = "00000000-0000-4000-8000-000000000000"
    assert (await browser.get(f"/console/incidents/{unknown}")).status_code == 404
    incident = await log_incident(api, tokens)
    base = f"/console/incidents/{incident['incident_id']}"
    assert (await browser.post(f"{base}/explode", data={"csrf": csrf})).status_code == 404
    assert (await browser.post(f"{base}/notes", data={"csrf": csrf, "revision": "1"})).status_code == 422
    assert (await browser.post(f"{base}/notes", data={"csrf": csrf, "text": "x", "revision": "x"})).status_code == 422


async def test_the_stream_needs_a_session_and_resumes_after_last_event_id(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, api_url: str, tokens: dict[str, str]
) -> None:
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as stranger:
        assert (await stranger.get("/console/stream")).status_code == 401
    await signed_in(browser, await a_responder(api, tokens, "Pat Stream"))
    incident = await log_incident(api, tokens, title="resume me")
    await api.post(
        f"/v1/incidents/{incident['incident_id']}/notes", json={"text": "after"}, headers=auth(tokens, "responder")
    )
    ids: list[str] = []
    kinds: list[str] = []
    params = {"incident": incident["incident_id"], "after": "0"}
    async with browser.stream("GET", "/console/stream", params=params) as events:
        async for line in events.aiter_lines():
            if line.startswith("id: "):
                ids.append(line.removeprefix("id: "))
            if line.startswith("event: "):  # after its id line
                kinds.append(line.removeprefix("event: "))
            if len(kinds) == 2:
                break
    resumed: list[str] = []
    headers = {"Last-Event-ID": ids[0]}
    async with browser.stream(
        "GET", "/console/stream", params={"incident": incident["incident_id"]}, headers=headers
    ) as events:
        async for line in events.aiter_lines():
            if line.startswith("event: "):
                resumed.append(line.removeprefix("event: "))
                break
    # The second event is the note or the escalator's SLA targets, whichever the log got first: the same one again.
    assert resumed == [kinds[1]] and kinds[0] == "incident.logged"


async def test_docs_are_served_from_this_origin(api: httpx.AsyncClient) -> None:
    page = await api.get("/docs")
    assert page.status_code == 200 and "cdn" not in page.text.lower()
    assert 'src="/console/static/vendor/swagger-ui-bundle.js"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    bundle = await api.get("/console/static/vendor/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.content) > 100_000


async def test_an_open_stream_closes_once_its_session_ends(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    csrf = await signed_in(browser, await a_responder(api, tokens, "Pat Ending"))
    incident = await log_incident(api, tokens)
    note = f"/v1/incidents/{incident['incident_id']}/notes"
    params = {"incident": incident["incident_id"], "after": "0"}
    async with browser.stream("GET", "/console/stream", params=params) as events:
        lines = events.aiter_lines()
        assert (await anext(lines)).startswith("id: ")
        async with httpx.AsyncClient(base_url=str(browser.base_url), cookies=browser.cookies) as other_tab:
            ended = await other_tab.post("/console/sign-out", data={"csrf": csrf}, headers={"Origin": "x"})
            assert ended.status_code == 303

        async def closed() -> bool:
            await api.post(note, json={"text": "still there?"}, headers=auth(tokens, "responder"))
            try:
                async with asyncio.timeout(0.5):
                    async for _ in lines:
                        pass
            except TimeoutError:
                return False
            return True  # the server ended the response

        assert await eventually(closed, timeout_s=10)


async def test_the_queue_filters_searches_and_scopes_like_the_read_api(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    pat = await a_responder(api, tokens, "Pat Queue")
    await signed_in(browser, pat)
    word = f"zebra{pat.user_id[-8:]}"
    p1 = await log_incident(api, tokens, title=f"{word} checkout down", impact="high", urgency="high")
    p3 = await log_incident(api, tokens, title=f"{word} slow search", impact="low", urgency="medium", service="search")
    done = await log_incident(api, tokens, title=f"{word} resolved already")
    resolve = {"summary": "fixed"}
    assert (
        await api.post(f"/v1/incidents/{done['incident_id']}/resolve", json=resolve, headers=auth(tokens, "responder"))
    ).status_code == 200
    assign = {"team": "service-desk", "assignee": pat.user_id}
    assert (
        await api.post(f"/v1/incidents/{p3['incident_id']}/assign", json=assign, headers=auth(tokens, "manager"))
    ).status_code == 200

    async def shown(**params: str) -> list[str]:
        answer = await browser.get("/console/queue", params={"q": word, **params})
        assert answer.status_code == 200, answer.text
        return re.findall(r'data-incident="([0-9a-f-]{36})"', answer.text)

    assert await shown() == [p1["incident_id"], p3["incident_id"]]  # open only, P1 first
    assert await shown(status="resolved") == [done["incident_id"]]
    assert await shown(priority="P1") == [p1["incident_id"]]
    assert await shown(service="search") == [p3["incident_id"]]
    assert await shown(scope="mine") == [p3["incident_id"]]
    assert await shown(sort="-logged_at") == [p3["incident_id"], p1["incident_id"]]
    assert await shown(breached="true") == []


async def test_redoc_is_served_from_this_origin_under_the_docs_csp(api: httpx.AsyncClient) -> None:
    page = await api.get("/redoc")
    assert page.status_code == 200 and "cdn." not in page.text.lower()
    assert 'src="/console/static/vendor/redoc.standalone.js"' in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy and "img-src 'self' data:" in policy
    bundle = await api.get("/console/static/vendor/redoc.standalone.js")
    assert bundle.status_code == 200 and len(bundle.content) > 500_000
    assert "cdn." not in bundle.text  # Redocly's logo is replaced by scripts/console-assets.sh


async def test_console_pages_tell_their_server_time(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    await signed_in(browser, await a_responder(api, tokens, "Pat Timing"))
    for path in ("/console/", "/console/queue"):
        answer = await browser.get(path)
        timing = re.fullmatch(r"app;dur=(\d+\.\d)", answer.headers["server-timing"])
        assert answer.status_code == 200 and timing is not None, answer.headers.get("server-timing")
        assert 0 <= float(timing.group(1)) < 30_000


async def test_the_update_form_says_beforehand_who_may_tell_customers(
    api: httpx.AsyncClient, api_url: str, tokens: dict[str, str]
) -> None:
    """A responder is told on the form that `customers` (the status page) is for managers; a manager is not."""
    incident = await log_incident(api, tokens, title="who tells customers")
    user_id = f"con-{uuid.uuid4().hex[:8]}"
    body = {
        "id": user_id,
        "name": "Mo Manager",
        "email": f"{user_id}@example.com",
        "time_zone": "UTC",
        "role": "manager",
    }
    assert (await api.post("/v1/users", json=body, headers=auth(tokens, "admin"))).status_code == 201
    issued = await api.post(f"/v1/users/{user_id}/tokens", json={"role": "manager"}, headers=auth(tokens, "admin"))
    assert issued.status_code == 201, issued.text
    people = {"responder": await a_responder(api, tokens, "Pat Audience"), "manager": None}
    for role, person in people.items():
        token = issued.json()["token"] if person is None else person.token
        async with httpx.AsyncClient(base_url=api_url, timeout=30, headers={"Origin": api_url}) as browser:
            await signed_in(browser, Responder(user_id, "Mo Manager", token) if person is None else person)
            page = await browser.get(f"/console/incidents/{incident['incident_id']}")
        assert page.status_code == 200, page.text
        assert ('id="updates-customers-hint"' in page.text) is (role == "responder"), role
