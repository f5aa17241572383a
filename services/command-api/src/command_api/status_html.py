"""The status page's HTML and mails: Jinja2 templates (package data, autoescaped), no scripts, no external assets.

The one stylesheet is inline and allowed by its hash in a Content-Security-Policy that allows nothing else; forms
post only to this origin. Pages about a token (confirm, unsubscribe) are never cached and send no Referer.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

import jinja2

from command_api.html_policy import inline_style_csp
from command_api.status_view import Level, StatusView

_TEMPLATES = files("command_api") / "templates"
STYLE = (_TEMPLATES / "status" / "style.css").read_text(encoding="utf-8")
CONTENT_SECURITY_POLICY = inline_style_csp(STYLE)
PUBLIC_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}
TOKEN_PAGE_HEADERS = {**PUBLIC_HEADERS, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                      "X-Robots-Tag": "noindex"}  # fmt: skip


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _css(level: Level) -> str:
    return level.value.replace(" ", "-")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("command_api", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=_when, iso=_iso, css=_css)
    return env


ENV = _environment()


@dataclass(frozen=True)
class Links:
    """The page's public URLs (INCIDENTS_PUBLIC_URL based)."""

    base: str

    @property
    def home(self) -> str:
        return f"{self.base}/status"

    @property
    def feed(self) -> str:
        return f"{self.base}/status/feed.atom"

    @property
    def subscribe(self) -> str:
        return f"{self.base}/status/subscriptions"

    def confirm(self, token: str) -> str:
        return f"{self.base}/status/subscriptions/confirm?token={token}"

    def unsubscribe(self, token: str) -> str:
        return f"{self.base}/status/subscriptions/unsubscribe?token={token}"


def _render(name: str, **context: Any) -> str:
    return ENV.get_template(f"status/{name}").render(style=STYLE, **context)


SAME_ORIGIN = Links("")  # what pages link to and post to: this origin, whatever name the browser used


def page(view: StatusView, title: str) -> str:
    links = SAME_ORIGIN
    return _render("page.html", view=view, title=title, feed_url=links.feed, subscribe_url=links.subscribe)


def message(title: str, text: str) -> str:
    return _render("message.html", title=title, text=text, home_url=SAME_ORIGIN.home)


def action(title: str, text: str, button: str, target: str, fields: dict[str, str]) -> str:
    """A page whose button POSTs `fields` to `target` (link scanners prefetch GETs; only a person presses)."""
    return _render("action.html", title=title, text=text, button=button, action=target, fields=fields)


def confirmation_mail(title: str, confirm_url: str, unsubscribe_url: str) -> tuple[str, str]:
    """The confirmation mail's text and HTML parts."""
    context = {"title": title, "confirm_url": confirm_url, "unsubscribe_url": unsubscribe_url}
    return _render("confirm_mail.txt", **context), _render("confirm_mail.html", **context)
