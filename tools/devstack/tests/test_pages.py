"""`devstack pages`: the tour's receiver prints each page with its link and answers the newest page of an incident."""

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest

from devstack.pages import Inbox, describe, handler_for

PAGE = {"event_type": "incident.paged", "incident_id": "i-1", "user": "ann", "title": "Card payments fail",
        "priority": "P2", "reason": "step", "level": 1, "schedule": "payments-oncall",
        "links": {"acknowledge": "http://127.0.0.1:8000/v1/page-links/tok"}}  # fmt: skip


@pytest.fixture
def receiver() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(Inbox()))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _post(url: str, body: object) -> int:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        status: int = answer.status
        return status


def test_a_page_is_printed_with_its_acknowledge_link() -> None:
    line = describe("/pages/ann", PAGE)
    assert line.startswith("PAGE ann [P2] Card payments fail (step, level 1, payments-oncall)")
    assert "acknowledge: http://127.0.0.1:8000/v1/page-links/tok" in line


def test_the_newest_page_of_an_incident_is_answered_and_other_incidents_are_not(receiver: str) -> None:
    assert _post(f"{receiver}/hooks/oncall", {"event_type": "incident.escalated", "incident_id": "i-1"}) == 200
    assert _post(f"{receiver}/pages/ann", PAGE) == 200
    with urllib.request.urlopen(f"{receiver}/pages/latest?incident=i-1&wait=1", timeout=5) as answer:
        assert json.loads(answer.read())["links"]["acknowledge"].endswith("/tok")
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{receiver}/pages/latest?incident=i-2&wait=0.2", timeout=5)
    assert missing.value.code == 404
