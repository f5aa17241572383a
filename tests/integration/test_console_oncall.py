"""The console's on-call view against the real stack: who is on call now per team (the API's answer), a schedule's
week per local day with overrides and gaps named, "Take this shift" as the signed-in person, and a responder
outside the schedule refused (docs/decisions/0085). In headless Chromium (Selenium), and over plain HTTP for
bad input and conflicts."""

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from selenium.webdriver import Chrome as Browser
from selenium.webdriver.common.by import By

from incidents_shared.domain import directory as d
from incidents_shared.settings import CommonSettings
from tests.integration.helpers import auth, topic_end, topic_records
from tests.integration.screenshots import save_screenshot
from tests.integration.test_console_browser import (
    Responder,
    a_responder,
    chromium,
    serious_violations,
    severe_console_errors,
    sign_in,
    wait,
)

pytestmark = pytest.mark.usefixtures("services")
WEEK = "2027-03-22"  # a Monday; Amsterdam moves to summer time on Sunday the 28th (a 23-hour day)
CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
REVISION = re.compile(r'data-revision="([0-9]+)"')  # the revision the page's take forms carry


@dataclass(frozen=True)
class Rota:
    """bob holds the weekdays (layer primary), ann Saturday to Sunday noon (layer weekend), then a gap until
    Monday; dan covers Wednesday 24th 11:00-15:00 local by an override. Team `team` (ann, bob) is on it; cid is
    a responder in neither."""

    schedule: str
    team: str
    ann: Responder
    bob: Responder
    dan: Responder
    cid: Responder


def weekly(start_day: str, end_day: str, end: str = "00:00") -> dict[str, str]:
    return {"kind": "weekly", "start_day": start_day, "start": "00:00", "end_day": end_day, "end": end}


@pytest.fixture
async def rota(api: httpx.AsyncClient, tokens: dict[str, str]) -> Rota:
    ann, bob = await a_responder(api, tokens, "Ann Oncall"), await a_responder(api, tokens, "Bob Oncall")
    dan, cid = await a_responder(api, tokens, "Dan Cover"), await a_responder(api, tokens, "Cid Outsider")
    tag = uuid.uuid4().hex[:8]
    schedule, team = f"rota-{tag}", f"payments-{tag}"
    start = "2026-01-05T00:00:00"
    layers = [
        {
            "name": "primary",
            "start": start,
            "turn": "P1W",
            "users": [bob.user_id],
            "restrictions": [weekly("mon", "sat")],
        },
        {
            "name": "weekend",
            "start": start,
            "turn": "P1W",
            "users": [ann.user_id],
            "restrictions": [weekly("sat", "sun", "12:00")],
        },
    ]
    body = {"id": schedule, "name": "Payments rota", "time_zone": "Europe/Amsterdam", "layers": layers}
    members = [ann.user_id, bob.user_id]
    cover = {"user": dan.user_id, "start": "2027-03-24T10:00:00Z", "end": "2027-03-24T14:00:00Z"}
    for path, payload in (
        ("/v1/schedules", body),
        ("/v1/teams", {"id": team, "name": "Payments", "members": members, "schedule": schedule}),
        (f"/v1/schedules/{schedule}/overrides", cover),
    ):
        created = await api.post(path, json=payload, headers=auth(tokens, "admin"))
        assert created.status_code == 201, created.text
    return Rota(schedule, team, ann, bob, dan, cid)


def shifts_shown(driver: Browser, day: str) -> list[Any]:
    return list(driver.find_elements(By.CSS_SELECTOR, f"#day-{day} li.shift"))


@pytest.mark.parametrize("width", [375, 1280])
async def test_the_on_call_view_names_whom_the_api_names_and_the_week_marks_overrides_and_gaps(
    api: httpx.AsyncClient, api_url: str, tokens: dict[str, str], rota: Rota, width: int
) -> None:
    driver = chromium(width, 900)
    try:
        sign_in(driver, api_url, rota.ann)
        driver.find_element(By.ID, "nav-oncall").click()
        row = wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, f'tr[data-team="{rota.team}"]'), what="team")[0]
        now = (await api.get("/v1/oncall", headers=auth(tokens, "reporter"))).json()
        [expected] = [entry for entry in now["oncall"] if entry["team"] == rota.team]
        names = {p.user_id: p.name for p in (rota.ann, rota.bob, rota.dan)} | {None: "nobody"}  # None: a gap
        assert row.get_attribute("data-user") == (expected["user"] or "")
        assert names[expected["user"]] in row.find_element(By.CSS_SELECTOR, "td.who").text
        assert expected["source"] in row.find_element(By.CSS_SELECTOR, "td.source").text
        assert "Europe/Amsterdam" in row.find_element(By.CSS_SELECTOR, "td.until").text
        assert serious_violations(driver) == []
        _fits(driver, width)

        row.find_element(By.CSS_SELECTOR, "td.schedule a").click()
        wait(driver, lambda d: d.find_elements(By.ID, "week"), what="this week of the schedule")
        assert driver.find_element(By.ID, "schedule-title").text == "Payments rota"
        driver.get(f"{api_url}/console/on-call/schedules/{rota.schedule}?week={WEEK}")
        assert "Mon 22 Mar 2027" in driver.find_element(By.ID, "week-title").text
        [before, override, after] = shifts_shown(driver, "2027-03-24")
        assert override.get_attribute("data-kind") == "override"
        assert override.get_attribute("data-user") == rota.dan.user_id
        assert "11:00–15:00" in override.text and "Override" in override.text and "Dan Cover" in override.text
        for bob in (before, after):
            assert "Bob Oncall" in bob.text and "layer primary" in bob.text and "Override" not in bob.text
        sunday = shifts_shown(driver, "2027-03-28")
        assert [s.get_attribute("data-kind") for s in sunday] == ["layer", "gap"]
        assert "Gap: nobody on call" in sunday[1].text and "12:00–24:00" in sunday[1].text
        assert serious_violations(driver) == []
        _fits(driver, width)
        save_screenshot(driver, "oncall-phone" if width < 600 else "oncall-desktop")

        driver.find_element(By.ID, "week-next").click()
        assert "Mon 29 Mar 2027" in wait(driver, lambda d: d.find_element(By.ID, "week-title").text, what="next")
        assert severe_console_errors(driver) == []
    finally:
        driver.quit()


def _fits(driver: Browser, width: int) -> None:
    if width < 600:  # a phone: readable without scrolling sideways
        assert driver.execute_script("return document.documentElement.scrollWidth") <= width


async def test_a_responder_takes_a_shift_for_themselves(
    api: httpx.AsyncClient, api_url: str, tokens: dict[str, str], settings: CommonSettings, rota: Rota
) -> None:
    driver = chromium()
    try:
        sign_in(driver, api_url, rota.ann)
        driver.get(f"{api_url}/console/on-call/schedules/{rota.schedule}?week={WEEK}")
        [monday] = shifts_shown(driver, "2027-03-22")
        assert monday.get_attribute("data-user") == rota.bob.user_id
        monday.find_element(By.CSS_SELECTOR, "details.take summary").click()
        start = monday.find_element(By.CSS_SELECTOR, "input[name=start]")
        end = monday.find_element(By.CSS_SELECTOR, "input[name=end]")
        assert (start.get_attribute("value"), end.get_attribute("value")) == ("2027-03-22T00:00", "2027-03-24T11:00")
        before = await topic_end(settings, settings.directory_topic)
        monday.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

        notice = wait(driver, lambda d: d.find_elements(By.ID, "notice"), what="the shift taken")[0]
        assert "you are on call" in notice.text
        [monday] = shifts_shown(driver, "2027-03-22")
        assert monday.get_attribute("data-kind") == "override" and "Ann Oncall" in monday.text
        assert "you" in monday.text and "Override" in monday.text
        assert severe_console_errors(driver) == []
    finally:
        driver.quit()
    answer = await api.get(
        f"/v1/schedules/{rota.schedule}/oncall", params={"at": "2027-03-23T12:00:00Z"}, headers=auth(tokens, "reporter")
    )
    assert (answer.json()["user"], answer.json()["source"]) == (rota.ann.user_id, "override")
    records = await topic_records(settings, settings.directory_topic, start=before)
    [added] = [e for e in map(d.decode, (r.value for r in records)) if isinstance(e, d.events.OverrideAdded)]
    assert added.data.schedule_id == rota.schedule and added.data.override.user == rota.ann.user_id
    assert (added.actor.id, added.actor.kind, added.actor.role) == (rota.ann.user_id, "user", "responder")


async def test_a_responder_outside_the_schedule_is_refused_by_the_api_and_told_so_by_the_console(
    api: httpx.AsyncClient, api_url: str, rota: Rota, browser: httpx.AsyncClient
) -> None:
    cover = {"user": rota.cid.user_id, "start": "2027-03-23T08:00:00Z", "end": "2027-03-23T12:00:00Z"}
    bearer = {"Authorization": f"Bearer {rota.cid.token}"}
    refused = await api.post(f"/v1/schedules/{rota.schedule}/overrides", json=cover, headers=bearer)
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")
    mine = {"user": rota.ann.user_id, "start": "2027-03-23T08:00:00Z", "end": "2027-03-23T09:00:00Z"}
    own = await api.post(f"/v1/schedules/{rota.schedule}/overrides", json=mine, headers=auth_of(rota.ann))
    assert own.status_code == 201, own.text  # ann is on the rota: her own override is hers to add

    driver = chromium()
    try:
        sign_in(driver, api_url, rota.cid)
        driver.get(f"{api_url}/console/on-call/schedules/{rota.schedule}?week={WEEK}")
        assert "not part of this schedule" in driver.find_element(By.ID, "not-in-schedule").text
        assert driver.find_elements(By.CSS_SELECTOR, "details.take") == []
    finally:
        driver.quit()

    week = await week_page(browser, rota.cid, rota.schedule)
    fields = form(week) | {"start": "2027-03-23T09:00", "end": "2027-03-23T13:00"}
    taken = await browser.post(f"/console/on-call/schedules/{rota.schedule}/take", data=fields)
    assert taken.status_code == 403 and "not part of this schedule" in taken.text


def auth_of(person: Responder) -> dict[str, str]:
    return {"Authorization": f"Bearer {person.token}"}


# --- over plain HTTP ----------------------------------------------------------------------------------------


@pytest.fixture
async def browser(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client that posts forms like a browser of this origin."""
    async with httpx.AsyncClient(base_url=api_url, timeout=30, headers={"Origin": api_url}) as client:
        yield client


async def week_page(browser: httpx.AsyncClient, person: Responder, schedule: str) -> httpx.Response:
    if "incidents_console" not in browser.cookies:
        signed = await browser.post("/console/sign-in", data={"token": person.token})
        assert signed.status_code == 303, signed.text
    page = await browser.get(f"/console/on-call/schedules/{schedule}", params={"week": WEEK})
    assert page.status_code == 200, page.text
    return page


def form(page: httpx.Response) -> dict[str, str]:
    """A take form's hidden fields: the session's CSRF token, the schedule's revision the page shows, the week."""
    csrf, revision = CSRF.search(page.text), REVISION.search(page.text)
    assert csrf is not None and revision is not None
    return {"csrf": csrf.group(1), "revision": revision.group(1), "key": uuid.uuid4().hex, "week": WEEK}


async def test_bad_input_gets_a_readable_page_never_a_500(browser: httpx.AsyncClient, rota: Rota) -> None:
    week = await week_page(browser, rota.ann, rota.schedule)
    unknown = await browser.get("/console/on-call/schedules/no-such-rota")
    assert unknown.status_code == 404 and "No schedule" in unknown.text
    assert unknown.headers["content-type"].startswith("text/html")
    for bad in ("2027-13-01", "2027-02-30", "next", "1999-12-27", "2027-W12", "9" * 500, "２０２７-03-22"):
        answer = await browser.get(f"/console/on-call/schedules/{rota.schedule}", params={"week": bad})
        assert answer.status_code == 422 and "week" in answer.text, (bad, answer.status_code)
    take = f"/console/on-call/schedules/{rota.schedule}/take"
    for fields, named in (
        ({"start": "tomorrow", "end": "2027-03-23T13:00"}, "start"),
        ({"start": "2027-03-23T13:00", "end": ""}, "end"),
        ({"start": "2027-03-23T13:00", "end": "2027-03-23T09:00"}, "end"),
    ):
        answer = await browser.post(take, data=form(week) | fields)
        assert answer.status_code == 422 and f"Check the field {named}" in answer.text, (fields, answer.text[-600:])
    assert (await browser.post(take, data={"start": "2027-03-23T09:00"})).status_code == 403  # no CSRF token
    gone = await browser.post("/console/on-call/schedules/no-such-rota/take", data=form(week))
    assert gone.status_code == 404


async def test_a_past_week_shows_its_shifts_but_offers_none_to_take(browser: httpx.AsyncClient, rota: Rota) -> None:
    await week_page(browser, rota.ann, rota.schedule)
    past = await browser.get(f"/console/on-call/schedules/{rota.schedule}", params={"week": "2026-01-07"})
    assert past.status_code == 200 and "Week of Mon 05 Jan 2026" in past.text
    assert "Bob Oncall" in past.text and "Take this shift" not in past.text and "Cover this gap" not in past.text


async def test_a_stale_week_gets_the_conflict_view_and_its_retry_succeeds(
    api: httpx.AsyncClient, tokens: dict[str, str], browser: httpx.AsyncClient, rota: Rota
) -> None:
    stale = form(await week_page(browser, rota.ann, rota.schedule))
    cover = {"user": rota.bob.user_id, "start": "2027-03-25T08:00:00Z", "end": "2027-03-25T10:00:00Z"}
    moved = await api.post(f"/v1/schedules/{rota.schedule}/overrides", json=cover, headers=auth(tokens, "manager"))
    assert moved.status_code == 201, moved.text
    part = {"start": "2027-03-25T08:00", "end": "2027-03-25T12:00"}  # a part of bob's Thursday, local time
    conflict = await browser.post(f"/console/on-call/schedules/{rota.schedule}/take", data=stale | part)
    assert conflict.status_code == 409 and "changed this schedule" in conflict.text
    assert "Bob Oncall" in conflict.text and 'value="2027-03-25T08:00"' in conflict.text  # what is in the way; kept
    later = {"start": "2027-03-25T11:00", "end": "2027-03-25T12:00"}  # after bob's new override (10:00Z = 11:00)
    retried = await browser.post(f"/console/on-call/schedules/{rota.schedule}/take", data=form(conflict) | later)
    assert retried.status_code == 303, retried.text[-600:]
    answer = await api.get(
        f"/v1/schedules/{rota.schedule}/oncall", params={"at": "2027-03-25T10:30:00Z"}, headers=auth(tokens, "reporter")
    )
    assert (answer.json()["user"], answer.json()["source"]) == (rota.ann.user_id, "override")
