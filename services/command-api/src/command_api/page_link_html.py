"""The page links' HTML: small, self-contained pages (no scripts, no external assets, every text escaped).

The one inline stylesheet is allowed by its hash in a Content-Security-Policy that allows nothing else; the form
may post only to this origin. Pages are never cached and send no Referer (the URL holds the link's token).
"""

from datetime import UTC, datetime
from html import escape

from command_api.html_policy import inline_style_csp
from command_api.page_link_service import PageView
from incidents_shared.domain.state import Incident

STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}"
    "h1{font-size:1.3rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{color:#555}"
    "dd{margin:0}button{font:inherit;padding:.6rem 1.4rem;border:0;border-radius:.3rem;background:#b3261e;"
    "color:#fff;cursor:pointer}button:focus{outline:3px solid #1b1b1b;outline-offset:2px}"
    ".note{padding:.6rem 1rem;background:#eef1f4;border-radius:.3rem}"
)
CONTENT_SECURITY_POLICY = inline_style_csp(STYLE)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex",
}


def _when(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if at is not None else "?"


def _document(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="referrer" content="no-referrer"><meta name="robots" content="noindex">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def _facts(incident: Incident, user: str) -> str:
    rows = [
        ("Priority", incident.priority.value if incident.priority else "not set"),
        ("Status", incident.status.value),
        ("Service", incident.service),
        ("Paged", user),
        ("Logged", _when(incident.logged_at)),
    ]
    cells = "".join(f"<dt>{escape(name)}</dt><dd>{escape(value)}</dd>" for name, value in rows)
    return f"<h1>{escape(incident.title)}</h1><dl>{cells}</dl>"


def confirmation(view: PageView) -> str:
    """The incident and an Acknowledge button (or why there is none). Posting the form acknowledges."""
    incident, user = view.incident, view.claims.user
    if view.can_acknowledge:
        action = (
            f'<form method="post"><p>Acknowledge as <strong>{escape(user)}</strong>: you are on it, '
            'and further pages for it stop.</p><button type="submit">Acknowledge</button></form>'
        )
    elif incident.acknowledged_at is not None:
        who = escape(view.acknowledged_by or "someone")
        action = f'<p class="note">Already acknowledged by {who} at {_when(incident.acknowledged_at)}.</p>'
    elif not view.user_known:
        action = f'<p class="note">{escape(user)} is no longer in the directory: this link cannot acknowledge.</p>'
    else:
        action = f'<p class="note">The incident is {escape(incident.status.value)}: nothing to acknowledge.</p>'
    return _document(f"Page: {incident.title}", _facts(incident, user) + action)


def acknowledged(incident: Incident, user: str) -> str:
    note = f'<p class="note">Acknowledged by {escape(user)} at {_when(incident.acknowledged_at)}.</p>'
    return _document(f"Acknowledged: {incident.title}", _facts(incident, user) + note)


def pending() -> str:
    body = (
        "<h1>Acknowledgement sent</h1><p>It is on the incident log; its verdict did not come back in time. "
        "Open the page link again in a moment to see it.</p>"
    )
    return _document("Acknowledgement sent", body)


def refusal(status: int, title: str, detail: str | None) -> str:
    body = f"<h1>{escape(title)}</h1><p>{escape(detail or '')}</p><p>HTTP {status}</p>"
    return _document(title, body)
