"""The public status page on the real stack: components from open incidents' customers updates, nothing else shown,
the Atom feed valid, and email subscribers (double opt-in, each update once, one-click unsubscribe) through the
session's real SMTP server."""

import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
from lxml import etree

from tests.integration.helpers import auth, eventually, log_incident
from tests.integration.smtp import Mail, SmtpServer
from tests.unit.test_status_feed import NS, validate

SECRETS = ("SECRET-TITLE", "SECRET-NOTE", "SECRET-INTERNAL", "SECRET-SUMMARY", "responder")


async def open_incident(
    api: httpx.AsyncClient, tokens: dict[str, str], service: str, customers: str, **fields: Any
) -> str:
    created = await log_incident(api, tokens, title=f"SECRET-TITLE {service}", service=service, **fields)
    incident_id: str = created["incident_id"]
    note = {"text": "SECRET-NOTE the pool leaks"}
    assert (
        await api.post(f"/v1/incidents/{incident_id}/notes", json=note, headers=auth(tokens, "responder"))
    ).is_success
    await post_update(api, tokens, incident_id, "SECRET-INTERNAL only for staff", audience="stakeholders")
    await post_update(api, tokens, incident_id, customers)
    return incident_id


async def post_update(
    api: httpx.AsyncClient, tokens: dict[str, str], incident_id: str, message: str, audience: str = "customers"
) -> None:
    body = {"audience": audience, "message": message}
    who = "manager" if audience == "customers" else "reporter"  # only a manager speaks to customers (0090)
    answer = await api.post(f"/v1/incidents/{incident_id}/updates", json=body, headers=auth(tokens, who))
    assert answer.status_code == 200, answer.text


async def resolve(api: httpx.AsyncClient, tokens: dict[str, str], incident_id: str) -> None:
    fix = {"resolution_code": "fixed", "summary": "SECRET-SUMMARY raised the pool size"}
    answer = await api.post(f"/v1/incidents/{incident_id}/resolve", json=fix, headers=auth(tokens, "responder"))
    assert answer.status_code == 200, answer.text


def level(page: str, component: str) -> str | None:
    found = re.search(rf'data-component="{re.escape(component)}">.*?data-level="([^"]+)"', page)
    return found.group(1) if found else None


async def page_when(api: httpx.AsyncClient, component: str, wanted: str) -> str:
    async def shown() -> str | None:
        page = (await api.get("/status")).text
        return page if level(page, component) == wanted else None

    page = await eventually(shown)
    assert page, f"{component} never showed {wanted}"
    return str(page)


def no_secrets(text: str, incident_id: str) -> None:
    for secret in (*SECRETS, incident_id, incident_id.replace("-", "")):
        assert secret not in text, f"the status page shows {secret!r}"


async def test_a_component_is_degraded_while_its_incident_is_open_then_operational(
    api: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    service = f"shop-{uuid.uuid4().hex[:8]}"
    incident_id = await open_incident(api, tokens, service, "Some checkouts fail; we are on it.")
    answer = await api.get("/status")
    assert answer.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    page = await page_when(api, service, "degraded")
    assert "Some checkouts fail; we are on it." in page and "<script" not in page
    no_secrets(page, incident_id)
    await resolve(api, tokens, incident_id)
    await post_update(api, tokens, incident_id, "Checkouts work again.")
    page = await page_when(api, service, "operational")
    current = page.split("<h2>Current incidents</h2>")[1].split("<h2>Subscribe</h2>")[0]
    assert "Checkouts work again." not in current  # resolved: in the history only
    history = page.split("days</h2>")[1]
    assert history.index("Checkouts work again.") < history.index("Some checkouts fail; we are on it.")
    no_secrets(page, incident_id)


async def test_a_p1_is_a_major_outage_and_drills_never_appear(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    service = f"pay-{uuid.uuid4().hex[:8]}"
    incident_id = await open_incident(api, tokens, service, "Payments are down.", impact="high", urgency="high")
    drill = await open_incident(api, tokens, f"drill-{service}", "DRILL-MESSAGE practice", drill=True)
    page = await page_when(api, service, "major outage")
    assert "Payments are down." in page
    feed = (await api.get("/status/feed.atom")).text
    for shown in (page, feed):
        assert "DRILL-MESSAGE" not in shown and f"drill-{service}" not in shown
        no_secrets(shown, incident_id)
        no_secrets(shown, drill)
    await resolve(api, tokens, incident_id)
    await resolve(api, tokens, drill)


async def test_the_feed_validates_and_has_one_entry_per_customers_update(
    api: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    service = f"feed-{uuid.uuid4().hex[:8]}"
    incident_id = await open_incident(api, tokens, service, f"First word on {service}.")
    await post_update(api, tokens, incident_id, f"Second word on {service}.")
    answer = await api.get("/status/feed.atom")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/atom+xml")
    assert validate(answer.content) == []
    feed = etree.fromstring(answer.content)
    ours = [e for e in feed.findall("a:entry", NS) if service in (e.findtext("a:content", namespaces=NS) or "")]
    assert [e.findtext("a:content", namespaces=NS) for e in ours] == [
        f"Second word on {service}.",
        f"First word on {service}.",
    ]
    assert [e.findtext("a:title", namespaces=NS) for e in ours] == [f"{service}: degraded"] * 2
    self_link = feed.find("a:link[@rel='self']", NS)
    assert self_link is not None and self_link.get("href") == f"{str(api.base_url).rstrip('/')}/status/feed.atom"
    no_secrets(answer.text, incident_id)
    await resolve(api, tokens, incident_id)


def link(mail: Mail, path: str) -> str:
    found = re.search(rf"https?://\S+{re.escape(path)}\?token=[A-Za-z0-9_-]+", mail.part("plain"))
    assert found, mail.part("plain")
    return found.group(0)


def local(api: httpx.AsyncClient, url: str) -> str:
    """The path and query of a mailed link, checked to point at the API the test talks to."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == str(api.base_url).rstrip("/")
    return f"{parts.path}?{parts.query}"


def one_click_headers(mail: Mail) -> str:
    unsubscribe = str(mail.message["List-Unsubscribe"])
    assert re.fullmatch(r"<https?://\S+/status/subscriptions/unsubscribe\?token=[A-Za-z0-9_-]+>", unsubscribe)
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    return unsubscribe.strip("<>")


async def confirm(api: httpx.AsyncClient, smtp_server: SmtpServer, address: str) -> None:
    answer = await api.post("/status/subscriptions", json={"email": address.upper()})
    assert answer.status_code == 202, answer.text
    [mail] = await smtp_server.wait_for(lambda m: address in m.recipients)
    one_click_headers(mail)
    target = local(api, link(mail, "/status/subscriptions/confirm"))
    shown = await api.get(target)  # what a link scanner would fetch: a page, nothing confirmed
    assert shown.status_code == 200 and '<form method="post" action="/status/subscriptions/confirm">' in shown.text
    token = parse_qs(urlsplit(target).query)["token"][0]
    confirmed = await api.post("/status/subscriptions/confirm", data={"token": token})
    assert confirmed.status_code == 200 and "Subscribed" in confirmed.text
    again = await api.post("/status/subscriptions/confirm", data={"token": token})
    assert again.status_code == 404  # single use


async def test_a_subscriber_confirms_gets_each_update_once_and_unsubscribes_with_one_post(
    api: httpx.AsyncClient, tokens: dict[str, str], smtp_server: SmtpServer, db: asyncpg.Connection
) -> None:
    address = f"fan-{uuid.uuid4().hex[:8]}@customers.test"
    service = f"mail-{uuid.uuid4().hex[:8]}"
    before = await open_incident(api, tokens, service, "Posted before the subscription.")
    await confirm(api, smtp_server, address)
    await post_update(api, tokens, before, "Posted after the subscription.")
    [mail] = await smtp_server.wait_for(lambda m: address in m.recipients and "after" in m.part("plain"))
    assert "Posted after the subscription." in mail.part("plain") and "Posted after" in mail.part("html")
    assert mail.message["Subject"] == f"{service}: degraded"
    assert str(mail.message["References"]).startswith("<incident-") and before not in str(mail.message)
    no_secrets(mail.message.as_string(), before)
    unsubscribe = one_click_headers(mail)

    again = await api.post("/status/subscriptions", json={"email": address})  # confirmed already: the same answer
    assert again.status_code == 202
    await post_update(api, tokens, before, "A second update.")
    await smtp_server.wait_for(lambda m: address in m.recipients and "second" in m.part("plain"))
    mine = smtp_server.to(address)
    assert [("before" in m.part("plain"), "after" in m.part("plain"), "second" in m.part("plain")) for m in mine] == [
        (False, False, False), (False, True, False), (False, False, True)]  # fmt: skip

    form = {"content-type": "application/x-www-form-urlencoded"}
    done = await api.post(local(api, unsubscribe), content=b"List-Unsubscribe=One-Click", headers=form)
    assert done.status_code == 200 and "Unsubscribed" in done.text
    assert await db.fetchval("SELECT count(*) FROM status_subscribers WHERE email = $1", address) == 0
    await post_update(api, tokens, before, "After the unsubscription.")
    other = f"other-{uuid.uuid4().hex[:8]}@customers.test"  # a later subscriber's mail proves the worker has moved on
    await confirm(api, smtp_server, other)
    await post_update(api, tokens, before, "For the other one.")
    assert await smtp_server.wait_for(lambda m: other in m.recipients and "other one" in m.part("plain"))
    assert len(smtp_server.to(address)) == 3
    await resolve(api, tokens, before)


async def test_bad_subscription_input_is_a_problem_naming_the_field(api: httpx.AsyncClient) -> None:
    bad = await api.post("/status/subscriptions", json={"email": "not an address"})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["errors"][0]["loc"] == ["body", "email"]
    plain = await api.post("/status/subscriptions", content=b"x", headers={"content-type": "text/plain"})
    assert plain.status_code == 415
    token = "A" * 43
    empty = await api.post(f"/status/subscriptions/unsubscribe?token={token}", data={"other": "1"})
    assert empty.status_code == 422 and "List-Unsubscribe" in empty.json()["detail"]
    assert (await api.get("/status/subscriptions/confirm?token=short")).status_code == 422
    assert (await api.get(f"/status/subscriptions/confirm?token={token}")).status_code == 404
    page = await api.get(f"/status/subscriptions/unsubscribe?token={token}")
    assert page.status_code == 200 and 'name="List-Unsubscribe" value="One-Click"' in page.text


async def test_the_pages_form_subscribes_and_the_confirmation_mail_can_unsubscribe_at_once(
    api: httpx.AsyncClient, smtp_server: SmtpServer, db: asyncpg.Connection
) -> None:
    address = f"form-{uuid.uuid4().hex[:8]}@customers.test"
    posted = await api.post("/status/subscriptions", data={"email": address}, headers={"accept": "text/html"})
    assert posted.status_code == 202 and posted.headers["content-type"].startswith("text/html")
    assert "Check your mailbox" in posted.text
    [mail] = await smtp_server.wait_for(lambda m: address in m.recipients)
    assert mail.part("html") and "confirm?token=" in mail.part("html")
    assert await db.fetchval("SELECT count(*) FROM status_subscribers WHERE email = $1", address) == 1
    form = {"content-type": "application/x-www-form-urlencoded"}
    done = await api.post(local(api, one_click_headers(mail)), content=b"List-Unsubscribe=One-Click", headers=form)
    assert done.status_code == 200
    assert await db.fetchval("SELECT count(*) FROM status_subscribers WHERE email = $1", address) == 0
    target = local(api, link(mail, "/status/subscriptions/confirm"))
    assert (await api.get(target)).status_code == 404  # the pending confirmation went with the address
