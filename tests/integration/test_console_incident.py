"""The console's incident page, complete (issue 17, item 4), in a real browser against the real stack: a P1 for a
catalogued service shows who is on call for its team and whom the escalator paged, and the service's runbook;
two incidents linked from the console show the link on both pages; notes show under their kinds; after resolving,
the post-incident review with two action items (rows added without JavaScript) goes on the log as the person;
the richer page passes axe-core at 375 and 1280 px."""

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from selenium.webdriver import Chrome as Browser
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from incidents_shared.domain.events import IncidentLinked, IncidentPaged, ReviewCompleted
from incidents_shared.settings import CommonSettings
from tests.integration.conftest import WEBHOOK_PORT
from tests.integration.helpers import auth, events_in_log, eventually, log_incident
from tests.integration.test_console_browser import (
    Responder,
    chromium,
    live,
    serious_violations,
    severe_console_errors,
    sign_in,
    wait,
)
from tests.integration.test_console_http import signed_in
from tests.integration.webhook import Receiver, running_receiver

pytestmark = pytest.mark.usefixtures("services")
HOOKS = f"http://127.0.0.1:{WEBHOOK_PORT}/hooks"


@dataclass(frozen=True)
class Scene:
    """A team with a schedule (Ann on call) owning a service with a runbook, a P1 for that service, and a
    manager, Mia, who works the incident from the console."""

    oncall: Responder
    manager: Responder
    team: str
    runbook: str
    p1: str


async def _created(api: httpx.AsyncClient, tokens: dict[str, str], path: str, body: dict[str, Any]) -> None:
    answer = await api.post(path, json=body, headers=auth(tokens, "admin"))
    assert answer.status_code == 201, answer.text


async def a_person(api: httpx.AsyncClient, tokens: dict[str, str], name: str, role: str) -> Responder:
    user_id = f"{name.split()[0].lower()}-{uuid.uuid4().hex[:8]}"
    contacts = [{"kind": "webhook", "address": f"{HOOKS}/page-{user_id}"}]
    body = {"id": user_id, "name": name, "email": f"{user_id}@example.com", "time_zone": "UTC", "role": role,
            "contact_methods": contacts}  # fmt: skip
    await _created(api, tokens, "/v1/users", body)
    issued = await api.post(f"/v1/users/{user_id}/tokens", json={"label": "console"}, headers=auth(tokens, "admin"))
    assert issued.status_code == 201, issued.text
    return Responder(user_id, name, issued.json()["token"])


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver(WEBHOOK_PORT) as running:
        yield running


@pytest.fixture(scope="module")
async def scene(api_url: str, tokens: dict[str, str], settings: CommonSettings, receiver: Receiver) -> Scene:
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        return await a_scene(api, tokens, settings)


async def a_scene(api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings) -> Scene:
    run = uuid.uuid4().hex[:8]
    ann = await a_person(api, tokens, "Ann Oncall", "responder")
    mia = await a_person(api, tokens, "Mia Manager", "manager")
    team, service, runbook = f"db-{run}", f"orders-db-{run}", f"https://runbooks.example/orders-db-{run}"
    start = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    layer = {"name": "daily", "start": start.isoformat(), "turn": "P1D", "users": [ann.user_id]}
    schedule = {"id": f"{team}-primary", "name": "DB primary", "time_zone": "UTC", "layers": [layer]}
    await _created(api, tokens, "/v1/schedules", schedule)
    members = [ann.user_id, mia.user_id]
    await _created(api, tokens, "/v1/teams", {"id": team, "name": "Databases", "members": members,
                                              "schedule": schedule["id"]})  # fmt: skip
    await _created(api, tokens, "/v1/services", {"id": service, "name": "Orders DB", "owner_team": team,
                                                 "runbook_url": runbook})  # fmt: skip
    p1 = (await log_incident(api, tokens, title=f"Orders DB refuses connections {run}", service=service,
                             impact="high", urgency="high"))["incident_id"]  # fmt: skip
    return Scene(ann, mia, team, runbook, p1)


@pytest.fixture
def driver() -> Iterator[Browser]:
    opened = chromium()
    try:
        yield opened
    finally:
        opened.quit()


def open_incident(driver: Browser, api_url: str, incident_id: str) -> None:
    driver.get(f"{api_url}/console/incidents/{incident_id}")
    wait(driver, lambda d: d.find_elements(By.ID, "actions-title"), what="the incident page")


def send(driver: Browser, action: str, **fields: str) -> None:
    """Fill an action's form as a person types and send it; the page comes back without a notice. The P1's
    escalation policy moves it on its own (SLA breaches, steps) while the form is open: on the conflict view the
    person sends their kept input again, based on the new state, as they would."""
    open_more(driver, action)
    for name, value in fields.items():
        box = driver.find_element(By.ID, f"{action}-{name}")
        if box.tag_name == "select":
            Select(box).select_by_value(value)
        else:
            box.clear()
            box.send_keys(value)
    for _ in range(5):
        driver.find_element(By.ID, f"do-{action}").click()
        wait(driver, lambda d: d.find_elements(By.ID, "actions-title"), what=f"the page after {action}")
        if not driver.find_elements(By.ID, "conflict"):
            break
        open_more(driver, action)
    notices = [n.text for n in driver.find_elements(By.CSS_SELECTOR, "#notice, #conflict")]
    assert notices == [], (action, notices)


def open_more(driver: Browser, action: str) -> None:
    if driver.find_elements(By.CSS_SELECTOR, f"details.more:not([open]) #form-{action}"):
        driver.find_element(By.CSS_SELECTOR, "details.more summary").click()


def text_of(driver: Browser, element_id: str) -> str:
    """The element's text; a live region swapped in meanwhile (a stale element) is looked up again."""
    return str(wait(driver, lambda d: d.find_element(By.ID, element_id).text, what=f"#{element_id}'s text"))


async def test_the_header_shows_who_is_on_call_who_was_paged_and_the_runbook(
    api: httpx.AsyncClient,
    api_url: str,
    tokens: dict[str, str],
    scene: Scene,
    driver: Browser,
    settings: CommonSettings,
) -> None:
    oncall = (await api.get("/v1/oncall", headers=auth(tokens, "auditor"))).json()["oncall"]
    [team] = [t for t in oncall if t["team"] == scene.team]
    assert team["user"] == scene.oncall.user_id  # what the API says, the page says
    sign_in(driver, api_url, scene.manager)
    open_incident(driver, api_url, scene.p1)
    assert f"{scene.oncall.name} ({scene.oncall.user_id})" in text_of(driver, "incident-oncall")
    assert scene.team in text_of(driver, "incident-owner")
    runbook = driver.find_element(By.CSS_SELECTOR, "#incident-runbook a")
    assert (runbook.get_attribute("href"), runbook.text) == (scene.runbook, scene.runbook)

    send(driver, "escalate", target_team=scene.team, comment="needs the DBA on call")  # the escalator pages Ann

    async def paged() -> list[IncidentPaged]:
        found = await events_in_log(settings, scene.p1)
        return [e for e in found if isinstance(e, IncidentPaged) and e.data.user == scene.oncall.user_id]

    [page_event, *_] = await eventually(paged, timeout_s=20)
    live(driver)
    # Read inside the wait: the live region may be swapped in between finding a line and reading its text.
    shown = wait(driver, lambda d: [e.text for e in d.find_elements(By.CSS_SELECTOR, "#paged li.page")], 5, "paged")
    assert scene.oncall.name in shown[0] and f"level {page_event.data.level}" in shown[0]
    assert "manual" in shown[0] and "by webhook" in shown[0]
    assert "not acknowledged by its link" in shown[0]
    paged_lines = [line for line in text_of(driver, "timeline").splitlines() if " paged" in line]
    assert paged_lines and scene.oncall.user_id in paged_lines[0]


async def test_two_incidents_linked_from_the_console_show_the_link_on_both_pages(
    api: httpx.AsyncClient,
    api_url: str,
    tokens: dict[str, str],
    scene: Scene,
    driver: Browser,
    settings: CommonSettings,
) -> None:
    cause = await log_incident(api, tokens, title=f"Storage array degraded {uuid.uuid4().hex[:6]}")
    effect = await log_incident(api, tokens, title=f"Orders slow {uuid.uuid4().hex[:6]}")
    sign_in(driver, api_url, scene.manager)
    open_incident(driver, api_url, effect["incident_id"])
    send(driver, "link", other_incident_id=cause["incident_id"], relation="caused_by")
    wait(driver, lambda d: cause["title"] in text_of(d, "links"), what="the link on the linking incident's page")
    assert "This incident is caused by" in text_of(driver, "links")

    open_incident(driver, api_url, cause["incident_id"])
    shown = driver.find_element(By.CSS_SELECTOR, f'#links li[data-linked="{effect["incident_id"]}"]')
    assert effect["title"] in shown.text and "is caused by this incident" in shown.text
    shown.find_element(By.TAG_NAME, "a").click()
    wait(driver, lambda d: text_of(d, "incident-title") == effect["title"], what="the linked incident's page")

    [linked] = [e for e in await events_in_log(settings, effect["incident_id"]) if isinstance(e, IncidentLinked)]
    assert (str(linked.data.other_incident_id), linked.data.relation.value) == (cause["incident_id"], "caused_by")
    assert linked.actor.id == scene.manager.user_id


async def test_notes_show_under_their_kinds_and_the_review_goes_on_the_log_with_its_action_items(
    api: httpx.AsyncClient,
    api_url: str,
    tokens: dict[str, str],
    scene: Scene,
    driver: Browser,
    settings: CommonSettings,
) -> None:
    incident = await log_incident(api, tokens, title=f"Replica lag {uuid.uuid4().hex[:6]}")
    sign_in(driver, api_url, scene.manager)
    open_incident(driver, api_url, incident["incident_id"])
    send(driver, "notes", kind="diagnosis", text="WAL shipping stalled")
    send(driver, "notes", kind="workaround", text="Reads moved to the primary")
    diagnosis, workaround = text_of(driver, "notes-diagnosis"), text_of(driver, "notes-workaround")
    assert "WAL shipping stalled" in diagnosis and "Reads moved" not in diagnosis
    assert "Reads moved to the primary" in workaround and "WAL" not in workaround
    assert not driver.find_elements(By.ID, "notes-root_cause")

    send(driver, "resolve", summary="Replica rebuilt")
    wait(driver, lambda d: text_of(d, "incident-status") == "resolved", what="resolved")
    rows = driver.find_elements(By.CSS_SELECTOR, "#form-review fieldset.item")
    assert len(rows) == 3
    fill_item(driver, 0, "Alert on replica lag", scene.manager.user_id, "2026-12-15")
    driver.find_element(By.ID, "review-summary").send_keys("The replica's disk filled up")
    driver.find_element(By.ID, "more-review").click()  # more rows, the page re-rendered with what was typed
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#form-review fieldset.item")) == 6, what="rows")
    assert driver.find_element(By.ID, "review-item-0-title").get_attribute("value") == "Alert on replica lag"
    assert driver.find_element(By.ID, "review-summary").get_attribute("value") == "The replica's disk filled up"
    fill_item(driver, 4, "Grow the replica's disk", scene.oncall.user_id, "2026-12-20")
    send(driver, "review")
    wait(driver, lambda d: d.find_elements(By.ID, "review"), what="the review on the page")
    assert "Grow the replica's disk" in text_of(driver, "review")

    async def reviewed() -> list[ReviewCompleted]:
        found = await events_in_log(settings, incident["incident_id"])
        return [e for e in found if isinstance(e, ReviewCompleted)]

    [review] = await eventually(reviewed)
    assert review.actor.id == scene.manager.user_id and review.data.summary == "The replica's disk filled up"
    assert [(i.title, i.owner, i.due.isoformat()) for i in review.data.action_items] == [
        ("Alert on replica lag", scene.manager.user_id, "2026-12-15"),
        ("Grow the replica's disk", scene.oncall.user_id, "2026-12-20"),
    ]
    assert severe_console_errors(driver) == []


def fill_item(driver: Browser, row: int, title: str, owner: str, due: str) -> None:
    driver.find_element(By.ID, f"review-item-{row}-title").send_keys(title)
    driver.find_element(By.ID, f"review-item-{row}-owner").send_keys(owner)
    date = driver.find_element(By.ID, f"review-item-{row}-due")  # a date picker: its typed form depends on locale
    driver.execute_script("arguments[0].value = arguments[1]", date, due)


@pytest.mark.parametrize("width", [375, 1280])
async def test_the_richer_incident_page_passes_the_accessibility_checker(
    api: httpx.AsyncClient, api_url: str, tokens: dict[str, str], scene: Scene, width: int
) -> None:
    as_responder = auth(tokens, "responder")
    base = f"/v1/incidents/{scene.p1}"
    for kind, text in (("diagnosis", "Connection pool exhausted"), ("workaround", "Pool raised to 400")):
        answer = await api.post(f"{base}/notes", json={"kind": kind, "text": text}, headers=as_responder)
        assert answer.status_code in (200, 201, 202), answer.text
    update = {"audience": "support", "message": "Orders may fail; retry in 10 minutes"}
    assert (await api.post(f"{base}/updates", json=update, headers=as_responder)).status_code in (200, 201, 202)
    other = (await log_incident(api, tokens, title=f"Checker link {width}"))["incident_id"]
    link = {"other_incident_id": scene.p1, "relation": "related"}
    answer = await api.post(f"/v1/incidents/{other}/link", json=link, headers=as_responder)
    assert answer.status_code in (200, 201, 202), answer.text
    driver = chromium(width, 900)
    try:
        sign_in(driver, api_url, scene.manager)
        open_incident(driver, api_url, scene.p1)
        live(driver)
        assert driver.find_elements(By.CSS_SELECTOR, "#paged li.page, #links li.link, #notes-diagnosis")
        assert serious_violations(driver) == []
        driver.find_element(By.CSS_SELECTOR, "details.more summary").click()  # the forms under More actions too
        assert serious_violations(driver) == []
        assert driver.execute_script("return document.documentElement.scrollWidth") <= width
    finally:
        driver.quit()


async def test_the_link_and_review_forms_refuse_bad_input_on_the_page_and_append_nothing(
    api: httpx.AsyncClient, api_url: str, tokens: dict[str, str], scene: Scene, settings: CommonSettings
) -> None:
    incident = await log_incident(api, tokens, title=f"Forms {uuid.uuid4().hex[:6]}")
    base = f"/console/incidents/{incident['incident_id']}"
    async with httpx.AsyncClient(base_url=api_url, timeout=30, headers={"Origin": api_url}) as browser:
        csrf = await signed_in(browser, scene.manager)
        unknown = {"csrf": csrf, "revision": "1", "other_incident_id": str(uuid.uuid4()), "relation": "related"}
        refused = await browser.post(f"{base}/link", data=unknown)
        assert refused.status_code == 422 and f"No incident {unknown['other_incident_id']} to link to" in refused.text
        resolve = {"csrf": csrf, "revision": "1", "resolution_code": "fixed", "summary": "done"}
        assert (await browser.post(f"{base}/resolve", data=resolve)).status_code == 303
        revision = str(
            (await api.get(f"/v1/incidents/{incident['incident_id']}", headers=auth(tokens, "auditor"))).json()[
                "revision"
            ]
        )
        review = {"csrf": csrf, "revision": revision, "summary": "s", "item-0-title": "half a row"}
        half = await browser.post(f"{base}/review", data=review)
        assert half.status_code == 422 and "action_items.0.owner" in half.text
        assert 'value="half a row"' in half.text  # what was typed is kept
        more = await browser.post(f"{base}/review", data=review | {"more": "1"})
        assert more.status_code == 200 and more.text.count('class="item"') == 6
    found = await events_in_log(settings, incident["incident_id"])
    assert not [e for e in found if isinstance(e, IncidentLinked | ReviewCompleted)]
