"""The status page's rules on plain data: component levels, the current incidents, the 90 days, the HTML."""

import re
import uuid
from datetime import UTC, datetime, timedelta

from command_api import status_html as html
from command_api.status_view import HISTORY_DAYS, CustomerUpdate, Level, build_view, public_id

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
NAMES = {"checkout": "Checkout", "search": "Search"}


def update(
    incident: uuid.UUID, message: str, *, ago_h: float = 1, service: str = "checkout", open: bool = True,
    severe: bool = False,
) -> CustomerUpdate:  # fmt: skip
    resolved = None if open else NOW - timedelta(minutes=5)
    posted = NOW - timedelta(hours=ago_h)
    return CustomerUpdate(uuid.uuid4(), incident, posted, message, service, open, severe, resolved)


def levels(view: object) -> dict[str, Level]:
    return {c.name: c.level for c in view.components}  # type: ignore[attr-defined]


def test_listed_components_are_operational_without_updates() -> None:
    view = build_view([], ["checkout", "search"], NAMES, NOW)
    assert levels(view) == {"Checkout": Level.OPERATIONAL, "Search": Level.OPERATIONAL}
    assert view.overall is Level.OPERATIONAL and view.current == ()
    assert len(view.history) == HISTORY_DAYS and view.history[0].day == NOW.date()


def test_an_open_incident_degrades_its_component_and_a_p1_or_major_is_an_outage() -> None:
    minor, severe = uuid.uuid4(), uuid.uuid4()
    rows = [update(minor, "Slow checkouts"), update(severe, "Search is down", service="search", severe=True)]
    view = build_view(rows, ["checkout"], NAMES, NOW)
    assert levels(view) == {"Checkout": Level.DEGRADED, "Search": Level.MAJOR_OUTAGE}
    assert view.overall is Level.MAJOR_OUTAGE


def test_a_resolved_incident_leaves_its_component_operational_and_stays_in_the_history() -> None:
    gone = uuid.uuid4()
    rows = [update(gone, "Investigating", ago_h=3, open=False), update(gone, "Fixed", ago_h=1, open=False)]
    view = build_view(rows, [], NAMES, NOW)
    assert levels(view) == {"Checkout": Level.OPERATIONAL}
    assert view.current == ()
    (today,) = [day for day in view.history if day.incidents]
    assert [u.message for u in today.incidents[0].updates] == ["Fixed", "Investigating"]


def test_updates_are_newest_first_and_known_by_public_ids_only() -> None:
    incident = uuid.uuid4()
    first, second = update(incident, "One", ago_h=2), update(incident, "Two", ago_h=1)
    view = build_view([first, second], [], NAMES, NOW)
    assert [u.message for _, u in view.updates] == ["Two", "One"]
    (current,) = view.current
    assert current.ref == public_id(incident).hex[:12] and incident.hex[:12] not in current.ref
    assert [u.id for u in current.updates] == [public_id(second.event_id), public_id(first.event_id)]


def test_the_history_files_updates_under_their_utc_day_and_drops_older_ones() -> None:
    incident = uuid.uuid4()
    rows = [update(incident, "Yesterday", ago_h=24), update(incident, "Long ago", ago_h=24 * 100, open=False)]
    view = build_view(rows, [], NAMES, NOW)
    shown = {day.day: [u.message for i in day.incidents for u in i.updates] for day in view.history}
    assert shown[(NOW - timedelta(days=1)).date()] == ["Yesterday"]
    assert "Long ago" not in str(shown)


def test_the_page_escapes_updates_and_allows_only_its_own_style() -> None:
    rows = [update(uuid.uuid4(), '<script>alert("x")</script> & more')]
    page = html.page(build_view(rows, ["checkout"], NAMES, NOW), "Acme <status>")
    assert "<script>" not in page and "&lt;script&gt;" in page and "Acme &lt;status&gt;" in page
    assert re.search(r'data-level="degraded"', page)
    style_hash = re.search(r"'sha256-([^']+)'", html.CONTENT_SECURITY_POLICY)
    assert style_hash and "script-src" not in html.CONTENT_SECURITY_POLICY
    assert 'action="/status/subscriptions"' in page and 'href="/status/feed.atom"' in page


def test_an_action_page_posts_its_hidden_fields_and_a_mail_has_both_links() -> None:
    page = html.action("Confirm", "Press", "Confirm", "/status/subscriptions/confirm", {"token": 'a"b'})
    assert '<form method="post" action="/status/subscriptions/confirm">' in page
    assert 'name="token" value="a&#34;b"' in page
    text, body = html.confirmation_mail("Acme", "https://x/confirm?token=t1", "https://x/unsub?token=t2")
    assert "https://x/confirm?token=t1" in text and "https://x/unsub?token=t2" in text
    assert 'href="https://x/confirm?token=t1"' in body
