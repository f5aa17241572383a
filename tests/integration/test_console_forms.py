"""The console's new-incident form and reports page against the session's real stack: in a real browser (Debian's
Chromium via Selenium) for what a responder sees, over plain HTTP for bad input (422 pages naming the field)."""

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from selenium.webdriver import Chrome as Browser
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from incidents_shared.domain.enums import Level
from incidents_shared.domain.events import IncidentLogged
from incidents_shared.domain.priority import priority_for
from incidents_shared.settings import CommonSettings
from tests.integration.helpers import auth, events_in_log, eventually, log_incident
from tests.integration.test_console_browser import (
    Responder,
    a_responder,
    chromium,
    serious_violations,
    severe_console_errors,
    sign_in,
    wait,
)
from tests.integration.test_console_http import signed_in

pytestmark = pytest.mark.usefixtures("services")
KEY = re.compile(r'name="key" value="([^"]+)"')
INCIDENT_PAGE = re.compile(r"/console/incidents/([0-9a-f-]{36})$")


async def a_catalog_service(api: httpx.AsyncClient, tokens: dict[str, str]) -> dict[str, str]:
    """A team and a service it owns, with a runbook, in the directory's catalog."""
    run = uuid.uuid4().hex[:8]
    team, service = f"forms-team-{run}", f"forms-svc-{run}"
    for path, body in (
        ("/v1/teams", {"id": team, "name": "Forms team", "members": []}),
        ("/v1/services", {"id": service, "name": "Forms", "owner_team": team, "runbook_url": f"https://rb.test/{run}"}),
    ):
        created = await api.post(path, json=body, headers=auth(tokens, "admin"))
        assert created.status_code == 201, created.text
    return {"team": team, "service": service, "runbook": f"https://rb.test/{run}"}


@pytest.fixture
def driver() -> Iterator[Browser]:
    opened = chromium()
    try:
        yield opened
    finally:
        opened.quit()


def _preview_text(driver: Browser, part: str) -> str:
    text: str = driver.find_element(By.ID, f"preview-{part}").text
    return text


async def test_a_responder_logs_an_incident_with_the_priority_preview_and_lands_on_its_page(
    api: httpx.AsyncClient, api_url: str, tokens: dict[str, str], settings: CommonSettings, driver: Browser
) -> None:
    catalog = await a_catalog_service(api, tokens)
    ana = await a_responder(api, tokens, "Ana Former")
    sign_in(driver, api_url, ana)
    driver.find_element(By.ID, "nav-new").click()
    wait(driver, lambda d: d.find_elements(By.ID, "new-incident"), what="the new-incident form")
    assert "set impact and urgency" in _preview_text(driver, "priority")

    driver.find_element(By.ID, "new-title").send_keys("Checkout form: card payments fail")
    driver.find_element(By.ID, "new-description").send_keys("since 09:40 UTC")
    Select(driver.find_element(By.ID, "new-impact")).select_by_value("high")
    Select(driver.find_element(By.ID, "new-urgency")).select_by_value("high")
    expected = priority_for(Level.HIGH, Level.HIGH).value
    wait(driver, lambda d: _preview_text(d, "priority") == expected, what=f"the preview showing {expected}")
    assert "acknowledge within" in _preview_text(driver, "sla")  # the escalator's policy in force has a rule
    options = [o.get_attribute("value") for o in driver.find_elements(By.CSS_SELECTOR, "#catalog option")]
    assert catalog["service"] in options  # from the catalog: created before Ana, so known once she can sign in
    driver.find_element(By.ID, "new-service").send_keys(catalog["service"], Keys.TAB)
    wait(driver, lambda d: _preview_text(d, "owner") == catalog["team"], what="the service's owner team")
    assert _preview_text(driver, "runbook") == catalog["runbook"]
    Select(driver.find_element(By.ID, "new-category")).select_by_value("software")

    driver.find_element(By.ID, "do-log").click()
    wait(driver, lambda d: INCIDENT_PAGE.search(d.current_url), what="the incident page")
    incident_id = INCIDENT_PAGE.search(driver.current_url).group(1)  # type: ignore[union-attr]
    assert driver.find_element(By.ID, "incident-title").text == "Checkout form: card payments fail"
    assert expected in driver.find_element(By.ID, "main").text
    [logged] = [e for e in await events_in_log(settings, incident_id) if isinstance(e, IncidentLogged)]
    assert (logged.actor.id, logged.actor.kind) == (ana.user_id, "user")  # made as the signed-in person
    assert (logged.data.service, logged.data.category) == (catalog["service"], "software")
    assert severe_console_errors(driver) == []


def _headline(driver: Browser) -> dict[str, str]:
    cells = driver.find_elements(By.CSS_SELECTOR, "#headline [data-key]")
    return {str(c.get_attribute("data-key")): str(c.get_attribute("data-value")) for c in cells}


def _exact(figures: dict[str, Any]) -> dict[str, str]:
    shown = {"incidents": str(figures["total"]), "breaches": str(figures["breaches"])}
    for name in ("mtta", "mttr"):
        for q in ("mean", "p50", "p90"):
            value = figures[f"{name}_seconds"][q]
            shown[f"{name}_{q}"] = "" if value is None else str(value)
    pct = figures["sla_compliance_pct"]
    return shown | {"sla_compliance_pct": "" if pct is None else str(pct)}


async def _acknowledged_and_resolved(api: httpx.AsyncClient, tokens: dict[str, str], service: str) -> str:
    incident_id: str = (await log_incident(api, tokens, title="Reports: queue stalls", service=service))["incident_id"]
    for action, body in (("acknowledge", {}), ("resolve", {"summary": "consumer restarted"})):
        done = await api.post(f"/v1/incidents/{incident_id}/{action}", json=body, headers=auth(tokens, "responder"))
        assert done.status_code == 200, done.text
    return incident_id


async def test_the_reports_page_shows_the_report_apis_figures_for_the_same_filters(
    api: httpx.AsyncClient, api_url: str, tokens: dict[str, str], driver: Browser
) -> None:
    service = f"reports-{uuid.uuid4().hex[:8]}"
    await _acknowledged_and_resolved(api, tokens, service)
    today = datetime.now(UTC).date()
    days = {"from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat()}
    window = {"from": f"{days['from']}T00:00:00Z", "to": f"{(today + timedelta(days=1)).isoformat()}T00:00:00Z"}

    async def resolved_in_the_report() -> dict[str, Any] | None:
        query = window | {"group_by": "service"}
        answer = await api.get("/v1/reports/summary", params=query, headers=auth(tokens, "auditor"))
        mine = [g for g in answer.json()["groups"] if g["group"] == service]
        return mine[0] if mine and mine[0]["mttr_seconds"]["count"] == 1 else None

    group = await eventually(resolved_in_the_report)
    assert group is not None, "the resolved incident never reached the report"
    sign_in(driver, api_url, await a_responder(api, tokens, "Ana Reports"))
    driver.find_element(By.ID, "nav-reports").click()
    wait(driver, lambda d: d.find_elements(By.ID, "report-filters"), what="the reports page")
    for name, value in (("from", days["from"]), ("to", days["to"])):  # a date field's value is its ISO date
        driver.execute_script("arguments[0].value = arguments[1]", driver.find_element(By.ID, f"f-{name}"), value)
    driver.find_element(By.ID, "f-service").send_keys(service)
    driver.find_element(By.ID, "apply-filters").click()
    wait(driver, lambda d: service in d.find_element(By.ID, "report-window").text, what="the filtered report")
    assert _headline(driver) == _exact(group)
    assert _headline(driver)["incidents"] == "1" and _headline(driver)["mttr_p50"] != ""
    # The breakdown table holds the route's groups by priority, and every chart has its text alternative.
    by_priority = await api.get(
        "/v1/reports/summary", params=window | {"group_by": "priority"}, headers=auth(tokens, "auditor")
    )
    shown = [
        r.get_attribute("data-group") for r in driver.find_elements(By.CSS_SELECTOR, "#groups-table tr[data-group]")
    ]
    assert shown == [g["group"] for g in by_priority.json()["groups"]]
    for chart in driver.find_elements(By.CSS_SELECTOR, "main svg"):
        assert chart.get_attribute("aria-label"), str(chart.get_attribute("outerHTML"))[:200]
    assert severe_console_errors(driver) == []


@pytest.mark.parametrize("width", [375, 1280])
async def test_the_form_and_the_reports_pass_the_accessibility_checker(
    api: httpx.AsyncClient, api_url: str, tokens: dict[str, str], width: int
) -> None:
    await _acknowledged_and_resolved(api, tokens, f"axe-{uuid.uuid4().hex[:6]}")  # charts with bars and points
    driver = chromium(width, 900)
    try:
        sign_in(driver, api_url, await a_responder(api, tokens, "Ana Checker Forms"))
        driver.get(f"{api_url}/console/incidents/new")
        Select(driver.find_element(By.ID, "new-impact")).select_by_value("high")
        Select(driver.find_element(By.ID, "new-urgency")).select_by_value("medium")
        wait(driver, lambda d: _preview_text(d, "priority") == "P2", what="the preview")
        assert serious_violations(driver) == []
        assert driver.execute_script("return document.documentElement.scrollWidth") <= width
        driver.get(f"{api_url}/console/reports")
        assert serious_violations(driver) == []
        assert driver.execute_script("return document.documentElement.scrollWidth") <= width
    finally:
        driver.quit()


@pytest.fixture
async def browser(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_url, timeout=30, headers={"Origin": api_url}) as client:
        yield client


async def _form(browser: httpx.AsyncClient) -> dict[str, str]:
    page = await browser.get("/console/incidents/new")
    assert page.status_code == 200, page.text
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
    key = KEY.search(page.text)
    assert csrf is not None and key is not None
    return {"csrf": csrf.group(1), "key": key.group(1)}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"impact": "severe"}, "impact"),
        ({"urgency": ""}, "urgency"),
        ({"detected_at": "yesterday"}, "detected_at"),
        ({"category": "plumbing"}, "category"),
        ({"labels": "not a pair"}, "labels"),
    ],
)
async def test_bad_input_shows_the_form_again_with_the_field_named_and_the_input_kept(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, tokens: dict[str, str], change: dict[str, str], field: str
) -> None:
    await signed_in(browser, await a_responder(api, tokens, "Pat Form"))
    fields = {"title": "Printer on fire", "service": "print", "impact": "high", "urgency": "high"} | change
    answer = await browser.post("/console/incidents/new", data=await _form(browser) | fields)
    assert answer.status_code == 422, answer.text
    assert f"Check the field <strong>{field}</strong>" in answer.text
    assert f'name="{field}"' in answer.text and 'aria-invalid="true"' in answer.text
    assert 'value="print"' in answer.text  # the person's input is kept
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")


async def test_a_resent_form_logs_one_incident_and_a_form_without_csrf_logs_none(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    await signed_in(browser, await a_responder(api, tokens, "Pat Twice"))
    form = await _form(browser) | {"title": f"Twice {uuid.uuid4().hex[:6]}", "service": "print"}
    first, again = [await browser.post("/console/incidents/new", data=form) for _ in range(2)]
    assert first.status_code == again.status_code == 303, first.text
    assert first.headers["location"] == again.headers["location"]
    assert INCIDENT_PAGE.search(first.headers["location"])
    forged = await browser.post("/console/incidents/new", data=form | {"csrf": "0" * 64, "key": "other"})
    assert forged.status_code == 403


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"group_by": "colour"}, "group_by"),
        ({"priority": "P9"}, "priority"),
        ({"from": "2026-02-30"}, "from"),
        ({"from": "2026-11-30", "to": "2026-11-01"}, "from"),
        ({"min_count": "x"}, "min_count"),
        ({"priority": "P1", "service": "print"}, "priority"),
    ],
)
async def test_bad_report_filters_answer_a_422_page_naming_the_filter(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, tokens: dict[str, str], query: dict[str, str], field: str
) -> None:
    await signed_in(browser, await a_responder(api, tokens, "Pat Filters"))
    answer = await browser.get("/console/reports", params=query)
    assert answer.status_code == 422, answer.text
    assert f"The filter <strong>{field}</strong> is not valid" in answer.text
    assert "text/html" in answer.headers["content-type"]


async def test_the_preview_fragment_and_the_pages_need_a_session(browser: httpx.AsyncClient) -> None:
    for path in ("/console/incidents/new", "/console/incidents/new/preview?impact=high", "/console/reports"):
        answer = await browser.get(path)
        assert (answer.status_code, answer.headers.get("location")) == (303, "/console/sign-in"), path


async def test_an_auditor_may_read_the_reports_but_not_log_an_incident(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    user_id = f"aud-{uuid.uuid4().hex[:8]}"
    body = {"id": user_id, "name": "Aud Itor", "email": f"{user_id}@example.com", "time_zone": "UTC", "role": "auditor"}
    assert (await api.post("/v1/users", json=body, headers=auth(tokens, "admin"))).status_code == 201
    issued = await api.post(f"/v1/users/{user_id}/tokens", json={"label": "console"}, headers=auth(tokens, "admin"))
    csrf = await signed_in(browser, Responder(user_id, "Aud Itor", issued.json()["token"]))
    form = await browser.get("/console/incidents/new")
    assert form.status_code == 403 and "may not log incidents" in form.text
    sent = {"csrf": csrf, "key": "k1", "title": "Should not exist", "service": "print"}
    assert (await browser.post("/console/incidents/new", data=sent)).status_code == 403
    assert (await browser.get("/console/reports")).status_code == 200
