"""The console's finish in a real browser (issue 17): the README's screenshots, taken from a realistic team queue
and incident page; /docs and /redoc rendering from this origin only; and the messages a responder sees when the
session expired or the read models are unavailable.

Screenshots are written to docs/screenshots/ (viewport only) by every run; see tests/integration/screenshots.py."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver import Chrome as Browser
from selenium.webdriver.common.by import By

from incidents_shared.domain.events import NoteAdded
from incidents_shared.settings import CommonSettings
from tests.integration.conftest import WEBHOOK_PORT
from tests.integration.helpers import auth, events_in_log, eventually
from tests.integration.screenshots import save_screenshot
from tests.integration.test_console_browser import (
    Responder,
    chromium,
    live,
    row,
    severe_console_errors,
    sign_in,
    wait,
)
from tests.integration.webhook import Receiver, running_receiver

pytestmark = pytest.mark.usefixtures("services")
HOOKS = f"http://127.0.0.1:{WEBHOOK_PORT}/hooks"
PHONE, DESKTOP = (375, 812), (1280, 900)


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver(WEBHOOK_PORT) as running:
        yield running


@dataclass(frozen=True)
class Team:
    """A payments team on call for its service; Ann's turn started half an hour ago, she signs in."""

    id: str
    service: str
    ann: Responder
    bob_id: str


async def _created(api: httpx.AsyncClient, tokens: dict[str, str], path: str, body: dict[str, Any]) -> None:
    answer = await api.post(path, json=body, headers=auth(tokens, "admin"))
    assert answer.status_code == 201, answer.text


async def a_team(api: httpx.AsyncClient, tokens: dict[str, str]) -> Team:
    run = uuid.uuid4().hex[:6]
    ann, bob, team, service = f"ann-{run}", f"bob-{run}", f"payments-{run}", f"checkout-{run}"
    for who, name in ((ann, "Ann Lee"), (bob, "Bob Okafor")):
        contacts = [{"kind": "webhook", "address": f"{HOOKS}/page-{who}"}]
        user = {"id": who, "name": name, "email": f"{who}@example.com", "time_zone": "Europe/Amsterdam",
                "role": "responder", "contact_methods": contacts}  # fmt: skip
        await _created(api, tokens, "/v1/users", user)
    start = (datetime.now(UTC) - timedelta(minutes=30)).replace(microsecond=0)
    layer = {"name": "primary", "start": start.isoformat(), "turn": "P1D", "users": [ann, bob]}
    await _created(api, tokens, "/v1/schedules", {"id": f"{team}-rota", "name": "Payments", "time_zone": "UTC",
                                                  "layers": [layer]})  # fmt: skip
    await _created(api, tokens, "/v1/teams", {"id": team, "name": "Payments", "members": [ann, bob],
                                              "schedule": f"{team}-rota"})  # fmt: skip
    await _created(api, tokens, "/v1/services", {"id": service, "name": "Checkout", "owner_team": team})
    issued = await api.post(f"/v1/users/{ann}/tokens", json={"label": "console"}, headers=auth(tokens, "admin"))
    assert issued.status_code == 201, issued.text
    return Team(team, service, Responder(ann, "Ann Lee", issued.json()["token"]), bob)


# (title, impact, urgency, then what Ann did: (action, body) in order)
QUEUE: list[tuple[str, str, str, list[tuple[str, dict[str, Any]]]]] = [
    ("Card payments fail for 30% of checkouts in eu-west", "high", "medium", []),  # the incident page's: below
    ("Checkout answers 502 to every request in us-east", "high", "high",
     [("acknowledge", {"comment": "looking at the load balancer"}), ("investigate", {})]),
    ("Refunds stuck in 'pending' since 09:10", "medium", "high", [("acknowledge", {})]),
    ("3-D Secure challenge page shows a blank frame", "medium", "medium", []),
    ("Payout report for merchants delayed", "medium", "low",
     [("acknowledge", {}), ("investigate", {}),
      ("hold", {"reason": "awaiting_vendor", "comment": "bank's SFTP is down, ticket 4711"})]),
    ("Currency rates cache older than 1 hour", "low", "medium", []),
]  # fmt: skip


async def as_ann(api: httpx.AsyncClient, team: Team, incident_id: str, action: str, body: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {team.ann.token}"}
    answer = await api.post(f"/v1/incidents/{incident_id}/{action}", json=body, headers=headers)
    assert answer.status_code == 200, (action, answer.text)


async def a_realistic_queue(api: httpx.AsyncClient, tokens: dict[str, str], team: Team) -> list[str]:
    """The team's open incidents, of every priority and open status; the first is the P2 of the incident page."""
    ids = []
    for title, impact, urgency, steps in QUEUE:
        body = {"title": title, "service": team.service, "impact": impact, "urgency": urgency}
        created = await api.post("/v1/incidents", json=body, headers=auth(tokens, "reporter"))
        assert created.status_code == 201, created.text
        ids.append(created.json()["incident_id"])
        for action, fields in steps:
            await as_ann(api, team, ids[-1], action, fields)
    return ids


async def the_p2_worked_on(api: httpx.AsyncClient, tokens: dict[str, str], team: Team, incident_id: str) -> None:
    """Paged (a P2 pages the owning team's on-call at once, fast-demo.yaml), acknowledged, investigated, with
    notes and an update to the stakeholders (a responder may not post to customers: rule customers-audience)."""

    async def paged() -> bool:
        answer = await api.get(f"/v1/incidents/{incident_id}/timeline", headers=auth(tokens, "auditor"))
        return any(e["type"] == "incident.paged" for e in answer.json()["events"])

    assert await eventually(paged, timeout_s=15), "the on-call person was paged for the P2"
    await as_ann(api, team, incident_id, "acknowledge", {"comment": "on it, from the page"})
    await as_ann(api, team, incident_id, "investigate", {"comment": "declines all from one acquirer"})
    note = "Acquirer B answers 504 since 10:02; A and C are fine. Failing over card traffic to A."
    await as_ann(api, team, incident_id, "notes", {"kind": "diagnosis", "text": note})
    await as_ann(api, team, incident_id, "notes", {"text": "Failover at 10:21; error rate back to 2% and falling."})
    update = "Some card payments failed between 10:00 and 10:20 CET. We have switched providers; retry works now."
    await as_ann(api, team, incident_id, "updates", {"audience": "stakeholders", "message": update})


async def test_the_readme_screenshots_of_the_queue_and_the_incident_page(
    api: httpx.AsyncClient, api_url: str, tokens: dict[str, str], receiver: Receiver
) -> None:
    team = await a_team(api, tokens)
    ids = await a_realistic_queue(api, tokens, team)
    await the_p2_worked_on(api, tokens, team, ids[0])
    for name, (width, height) in (("desktop", DESKTOP), ("phone", PHONE)):
        driver = chromium(width, height)
        try:
            sign_in(driver, api_url, team.ann)
            driver.get(f"{api_url}/console/?service={team.service}")  # the team's service: its incidents only
            live(driver)
            wait(driver, lambda d: all(row(d, i) for i in ids), what="every incident of the team in its queue")
            assert len(driver.find_elements(By.CSS_SELECTOR, "tr[data-incident]")) == len(QUEUE)
            shown = driver.find_element(By.ID, "queue-rows").text
            assert all(p in shown for p in ("P1", "P2", "P3", "P4")), shown
            assert all(s in shown for s in ("new", "acknowledged", "investigating", "on_hold")), shown
            assert save_screenshot(driver, f"queue-{name}").stat().st_size > 10_000

            driver.get(f"{api_url}/console/incidents/{ids[0]}")
            live(driver)
            page = driver.find_element(By.ID, "main").text
            assert "Acquirer B answers 504" in page and "We have switched providers" in page, page
            assert "Ann Lee" in driver.find_element(By.ID, "timeline").text
            assert "paged" in driver.find_element(By.ID, "timeline").text
            assert save_screenshot(driver, f"incident-{name}").stat().st_size > 10_000
            assert severe_console_errors(driver) == []
        finally:
            driver.quit()


def failed_or_foreign_requests(driver: Browser, origin: str) -> list[str]:
    """Every resource the page asked for that failed or came from another origin (the Resource Timing API)."""
    entries: list[dict[str, Any]] = driver.execute_script(
        "return performance.getEntriesByType('resource').map((e) => ({name: e.name, status: e.responseStatus}))"
    )
    local = [e for e in entries if not e["name"].startswith(("data:", "blob:"))]  # made by the page's own script
    return [
        f"{e['name']} {e['status']}"
        for e in local
        if not e["name"].startswith(origin) or not 200 <= (e["status"] or 0) < 400
    ]


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_docs_and_redoc_render_offline_with_no_failed_request_or_csp_violation(
    api: httpx.AsyncClient, api_url: str, path: str
) -> None:
    served = await api.get(path)
    assert served.status_code == 200 and "cdn." not in served.text, served.text
    assert "script-src 'self'" in served.headers["content-security-policy"]
    for script in ("swagger-ui-bundle.js", "redoc.standalone.js"):
        bundle = await api.get(f"/console/static/vendor/{script}")
        assert bundle.status_code == 200 and "cdn." not in bundle.text, script  # nothing fetched from elsewhere

    driver = chromium(*DESKTOP)
    try:
        driver.get(f"{api_url}{path}")
        title = ".swagger-ui .info .title" if path == "/docs" else "h1"
        heading = wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, title), what=f"{path} rendered")[0]
        assert "Incident platform command API" in heading.text
        operation = ".opblock" if path == "/docs" else "[data-section-id*='operation/']"
        assert wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, operation), what="the operations listed")
        await asyncio.sleep(0.5)  # ReDoc's search worker and lazy parts load after the first render
        assert failed_or_foreign_requests(driver, api_url) == []
        assert severe_console_errors(driver) == []
    finally:
        driver.quit()


async def test_an_expired_session_says_so_and_the_action_is_not_taken(
    api: httpx.AsyncClient, api_url: str, tokens: dict[str, str], settings: CommonSettings, db: asyncpg.Connection
) -> None:
    team = await a_team(api, tokens)
    incident_id = (await a_realistic_queue(api, tokens, team))[3]  # a new P3
    driver = chromium(*DESKTOP)
    try:
        sign_in(driver, api_url, team.ann)
        driver.get(f"{api_url}/console/incidents/{incident_id}")
        live(driver)
        driver.find_element(By.ID, "notes-text").send_keys("written after the session expired")
        expired = await db.execute(
            "UPDATE console_sessions SET expires_at = now() - interval '1 second' WHERE user_id = $1", team.ann.user_id
        )
        assert expired == "UPDATE 1"
        with contextlib.suppress(NoSuchElementException, StaleElementReferenceException):
            driver.find_element(By.ID, "do-notes").click()  # unless the live stream already noticed the end
        wait(driver, lambda d: d.find_elements(By.ID, "token"), what="the sign-in page after the expired session")
        assert "Your session ended" in driver.find_element(By.TAG_NAME, "main").text
        assert [e for e in await events_in_log(settings, incident_id) if isinstance(e, NoteAdded)] == []
    finally:
        driver.quit()


async def _terminate_the_queue_query(db: asyncpg.Connection) -> int:
    """Terminate the API's backend that waits (on the lock held) to read the queue from the incidents table."""
    return int(
        await db.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND query LIKE 'SELECT % FROM incidents %ORDER BY % LIMIT %' AND pid <> pg_backend_pid()"
        )
    )


async def test_the_queue_says_the_read_models_are_unavailable_and_that_retrying_helps(
    api: httpx.AsyncClient, api_url: str, tokens: dict[str, str], settings: CommonSettings, db: asyncpg.Connection
) -> None:
    team = await a_team(api, tokens)
    await a_realistic_queue(api, tokens, team)
    driver = chromium(*DESKTOP)
    holder = await asyncpg.connect(settings.database_url)
    try:
        sign_in(driver, api_url, team.ann)
        async with holder.transaction():
            # The read model goes away under the page's query, as when PostgreSQL restarts (57P01).
            await holder.execute("LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE")
            loading = asyncio.create_task(asyncio.to_thread(driver.get, f"{api_url}/console/?service={team.service}"))
            # Watched from another connection: in a transaction, pg_stat_activity is a snapshot taken once.
            assert await eventually(lambda: _terminated(db), timeout_s=8), "the queue's query was cut off"
        await loading
        assert driver.find_element(By.TAG_NAME, "h1").text == "Temporarily unavailable"
        text = driver.find_element(By.TAG_NAME, "main").text
        assert "read models are unavailable" in text and "Try again in a few seconds" in text, text
        driver.refresh()  # and retrying does help
        wait(driver, lambda d: d.find_elements(By.ID, "live-state"), what="the queue again after a retry")
    finally:
        await holder.close()
        driver.quit()


async def _terminated(db: asyncpg.Connection) -> bool:
    return await _terminate_the_queue_query(db) > 0
