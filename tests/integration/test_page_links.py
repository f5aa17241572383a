"""Acknowledging from a page on the real stack: the signed link of a page, as the escalator makes it.

A GET shows the incident and appends nothing; a POST acknowledges as the paged user, once; a forged, expired or
reused link gets a 4xx and appends nothing. Records are counted on the Kafka topic itself, not the read model.
"""

import os
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from incidents_shared.page_links import PageLinkSigner, parse_keys
from incidents_shared.settings import CommonSettings
from tests.integration.helpers import auth, events_in_log, log_incident
from tests.integration.services import LOGS

pytestmark = pytest.mark.integration
PROBLEM = "application/problem+json"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture(scope="module")
def signer(api_url: str) -> PageLinkSigner:
    """The signer of the stack's own key (make test exports INCIDENTS_PAGE_LINK_KEYS to the services and here)."""
    spec = os.environ.get("INCIDENTS_PAGE_LINK_KEYS")
    assert spec, "INCIDENTS_PAGE_LINK_KEYS is not set: run the integration tests with `make test`"
    keys, current = parse_keys(spec)
    ttl = timedelta(seconds=int(os.environ.get("INCIDENTS_PAGE_LINK_TTL_S", "86400")))
    return PageLinkSigner(keys, current, api_url, ttl)


async def a_user(api: httpx.AsyncClient, tokens: dict[str, str], role: str = "responder") -> str:
    """A person in the directory (through the directory API), with a webhook to be paged on."""
    user = f"pager-{uuid4().hex[:10]}"
    body = {
        "id": user,
        "name": "Pat Pager",
        "email": f"{user}@example.com",
        "time_zone": "Europe/Amsterdam",
        "role": role,
        "contact_methods": [{"kind": "webhook", "address": "http://127.0.0.1:9/pages"}],
    }
    response = await api.post("/v1/users", json=body, headers=auth(tokens, "admin"))
    assert response.status_code == 201, response.text
    return user


async def by_user(settings: CommonSettings, incident_id: str, user: str) -> list[Any]:
    """The records on the incident's log that the user caused (a page link acts as them and only as them)."""
    return [e for e in await events_in_log(settings, incident_id) if e.actor.id == user]


def link(signer: PageLinkSigner, incident_id: str, page: UUID, user: str, paged_at: datetime | None = None) -> str:
    acknowledge = signer.links(UUID(incident_id), page, user, paged_at or datetime.now(UTC))["acknowledge"]
    assert acknowledge.startswith(f"{signer.public_url}/v1/page-links/")
    return acknowledge.removeprefix(signer.public_url)


async def test_get_shows_the_incident_and_post_acknowledges_once_as_the_paged_user(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings, signer: PageLinkSigner
) -> None:
    user = await a_user(api, tokens)
    incident = await log_incident(api, tokens, title="Page link <checkout> 502s", service="checkout")
    incident_id, page = incident["incident_id"], uuid4()
    path = link(signer, incident_id, page, user)

    shown = await api.get(path, headers=BROWSER)
    assert shown.status_code == 200, shown.text
    assert shown.headers["content-type"].startswith("text/html")
    assert (
        "Page link &lt;checkout&gt; 502s" in shown.text and user in shown.text and "Acknowledge</button>" in shown.text
    )
    assert "default-src 'none'" in shown.headers["content-security-policy"]
    assert shown.headers["cache-control"] == "no-store" and shown.headers["referrer-policy"] == "no-referrer"
    assert (await api.get(path)).status_code == 200  # a link preview fetching it again
    assert await by_user(settings, incident_id, user) == [], "a GET appended something"

    acknowledged = await api.post(path)
    assert acknowledged.status_code == 200, acknowledged.text
    assert acknowledged.json()["status"] == "acknowledged"
    timeline = await api.get(f"/v1/incidents/{incident_id}/timeline", headers=auth(tokens, "auditor"))
    [ack] = [e for e in timeline.json()["events"] if e["type"] == "incident.acknowledged"]
    assert (ack["actor"]["id"], ack["actor"]["role"], ack["data"]["page_link"]) == (user, "responder", str(page))
    [logged] = await by_user(settings, incident_id, user)
    assert logged.type == "incident.acknowledged" and logged.data.page_link == page

    again = await api.post(path)
    assert again.status_code == 409, again.text
    assert again.headers["content-type"] == PROBLEM and again.json()["type"].endswith("/page-link-used")
    assert len(await by_user(settings, incident_id, user)) == 1, "a reused link appended something"
    after = await api.get(path, headers=BROWSER)
    assert after.status_code == 200 and f"Already acknowledged by {user}" in after.text
    token = path.removeprefix("/v1/page-links/")
    api_logs = "".join(log.read_text() for log in LOGS.glob("command-api*.log"))
    assert '"route": "/v1/page-links/{token}"' in api_logs or "/v1/page-links/{token}" in api_logs
    assert token not in api_logs, "the access log must not keep a live credential"


async def test_a_browser_form_post_acknowledges_with_a_comment_and_answers_a_page(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings, signer: PageLinkSigner
) -> None:
    user = await a_user(api, tokens, role="reporter")
    incident_id = (await log_incident(api, tokens))["incident_id"]
    path = link(signer, incident_id, uuid4(), user)

    posted = await api.post(path, data={"comment": "on my way"}, headers=BROWSER)

    assert posted.status_code == 200, posted.text
    assert posted.headers["content-type"].startswith("text/html") and f"Acknowledged by {user}" in posted.text
    [logged] = await by_user(settings, incident_id, user)
    assert (logged.type, logged.data.comment, logged.actor.role) == ("incident.acknowledged", "on my way", "reporter")


async def test_a_forged_link_is_refused_and_appends_nothing(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings, signer: PageLinkSigner
) -> None:
    user = f"pager-{uuid4().hex[:10]}"  # the link is refused before anyone is looked up
    incident_id = (await log_incident(api, tokens))["incident_id"]
    genuine = link(signer, incident_id, uuid4(), user)
    claims, signature = genuine.removeprefix("/v1/page-links/").split(".")
    flipped = ("B" if signature[0] == "A" else "A") + signature[1:]
    other_key = PageLinkSigner({"test": bytes(32)}, "test", signer.public_url, timedelta(hours=1))

    for path in (
        f"/v1/page-links/{claims}.{flipped}",
        link(other_key, incident_id, uuid4(), user),
        "/v1/page-links/not-a-token",
    ):
        for answer in (await api.get(path), await api.post(path)):
            assert answer.status_code == 403, answer.text
            assert answer.headers["content-type"] == PROBLEM and claims not in answer.json()["instance"]
    assert (await api.post(f"/v1/page-links/{claims}.{flipped}", headers=BROWSER)).status_code == 403
    assert await by_user(settings, incident_id, user) == []
    state = (await api.get(f"/v1/incidents/{incident_id}", headers=auth(tokens, "auditor"))).json()
    assert state["status"] == "new"


async def test_an_expired_link_is_gone_and_appends_nothing(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings, signer: PageLinkSigner
) -> None:
    user = f"pager-{uuid4().hex[:10]}"  # the link is refused before anyone is looked up
    incident_id = (await log_incident(api, tokens))["incident_id"]
    path = link(signer, incident_id, uuid4(), user, datetime.now(UTC) - signer.ttl - timedelta(minutes=1))

    posted = await api.post(path)

    assert posted.status_code == 410, posted.text
    assert posted.json()["type"].endswith("/page-link-expired")
    assert (await api.get(path)).status_code == 410
    assert await by_user(settings, incident_id, user) == []


async def test_a_user_no_longer_in_the_directory_cannot_acknowledge(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings, signer: PageLinkSigner
) -> None:
    user = await a_user(api, tokens)
    incident_id = (await log_incident(api, tokens))["incident_id"]
    path = link(signer, incident_id, uuid4(), user)
    removed = await api.delete(f"/v1/users/{user}", headers=auth(tokens, "admin"))
    assert removed.status_code in (200, 204), removed.text

    posted = await api.post(path)

    assert posted.status_code == 403, posted.text
    assert posted.json()["type"].endswith("/user-unknown")
    assert await by_user(settings, incident_id, user) == []
