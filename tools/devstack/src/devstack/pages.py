"""`devstack pages`: a local receiver for the pages and notifications of `make run` (the README's on-call tour).

The example directory's people are paged by webhook at http://127.0.0.1:9000/pages/<user>, and the example
policies' channels post to http://127.0.0.1:9000/hooks/<name>. This prints one line per delivery (with a page's
acknowledge link) and keeps the last deliveries in memory, so a script can ask for them:

    GET /pages/latest?incident=<id>[&wait=10]    the newest page about that incident (404 if none came in time)
    GET /deliveries                              everything received, oldest first

Standard library only: a development aid, not part of the platform.
"""

import json
import sys
import threading
import time
from collections import deque
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

KEEP = 1_000
MAX_WAIT_S = 30.0


class Inbox:
    """What came in, newest last; readers may wait for a page about an incident."""

    def __init__(self) -> None:
        self.received: deque[dict[str, Any]] = deque(maxlen=KEEP)
        self.changed = threading.Condition()

    def add(self, path: str, body: Any) -> None:
        with self.changed:
            self.received.append({"path": path, "body": body, "at": time.time()})
            self.changed.notify_all()

    def latest_page(self, incident: str, wait_s: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + wait_s
        with self.changed:
            while True:
                found = [r["body"] for r in self.received if _is_page_about(r, incident)]
                left = deadline - time.monotonic()
                if found or left <= 0:
                    return found[-1] if found else None
                self.changed.wait(left)


def _is_page_about(received: dict[str, Any], incident: str) -> bool:
    body = received["body"]
    return isinstance(body, dict) and body.get("event_type") == "incident.paged" and body.get("incident_id") == incident


def describe(path: str, body: Any) -> str:
    """One line for the terminal."""
    if isinstance(body, dict) and body.get("reason") == "digest":
        lines = [f"DIGEST {body.get('user')}: {body.get('total')} incidents in one page"]
        for item in body.get("incidents") or []:
            ack = (item.get("links") or {}).get("acknowledge", "(no link)")
            lines.append(f"     [{item.get('priority')}] {item.get('title')}  acknowledge: {ack}")
        return "\n".join(lines)
    if isinstance(body, dict) and body.get("event_type") == "incident.paged":
        link = (body.get("links") or {}).get("acknowledge", "(no link: INCIDENTS_PAGE_LINK_KEYS unset)")
        why = f"{body.get('reason')}, level {body.get('level')}, {body.get('schedule') or body.get('team')}"
        return f"PAGE {body.get('user')} [{body.get('priority')}] {body.get('title')} ({why})\n     acknowledge: {link}"
    if isinstance(body, dict) and "text" in body:
        return f"{path}: {body['text']}"
    if isinstance(body, dict):
        return f"{path}: {body.get('event_type')} [{body.get('priority')}] {body.get('title')}"
    return f"{path}: {body!r}"


def handler_for(inbox: Inbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body: Any = json.loads(raw or b"null")
            except ValueError:
                body = raw.decode(errors="replace")
            path = urlsplit(self.path).path
            inbox.add(path, body)
            sys.stdout.write(describe(path, body) + "\n")
            sys.stdout.flush()
            self._answer(HTTPStatus.OK, {"ok": True})

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            if url.path == "/deliveries":
                self._answer(HTTPStatus.OK, list(inbox.received))
            elif url.path == "/pages/latest" and query.get("incident"):
                wait_s = min(float((query.get("wait") or ["10"])[0]), MAX_WAIT_S)
                page = inbox.latest_page(query["incident"][0], wait_s)
                self._answer(HTTPStatus.OK if page else HTTPStatus.NOT_FOUND, page or {"error": "no page yet"})
            else:
                self._answer(HTTPStatus.NOT_FOUND, {"error": "GET /pages/latest?incident=ID or /deliveries"})

        def _answer(self, status: HTTPStatus, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: one line per delivery is printed by do_POST instead."""

    return Handler


def serve(host: str, port: int) -> None:
    server = ThreadingHTTPServer((host, port), handler_for(Inbox()))
    sys.stdout.write(f"receiving pages on http://{host}:{port}/pages/<user> and /hooks/<name> (Ctrl-C stops)\n")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
