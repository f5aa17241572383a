"""Where a delivery goes, as a reference the sender resolves when it sends (docs/decisions/0079). Pure.

A delivery never carries its URL or mailbox: a policy channel is named, and looked up in the policy file in force
when it is sent; a page names the person's contact method by position and kind, looked up in the directory then.
So no webhook URL (a secret: whoever has it may post) is ever written to PostgreSQL or to the log, and a channel
removed or a contact method changed meanwhile is noticed (the delivery is recorded failed, saying why).
"""

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from incidents_shared.domain.enums import ContactKind


@dataclass(frozen=True)
class ChannelRef:
    """A policy channel, by its name in the policy file."""

    name: str


@dataclass(frozen=True)
class ContactRef:
    """The `index`-th contact method of `user` in the directory, which was of `kind` when the page was built."""

    user: str
    index: int
    kind: ContactKind


Destination = ChannelRef | ContactRef | None  # None: nothing to resolve (an undeliverable delivery)


def destination_json(destination: Destination) -> dict[str, Any] | None:
    """The reference as stored with the delivery (the outbox's `destination` column)."""
    if isinstance(destination, ChannelRef):
        return {"channel": destination.name}
    if isinstance(destination, ContactRef):
        return {"user": destination.user, "index": destination.index, "kind": destination.kind.value}
    return None


def destination_of(stored: dict[str, Any] | None) -> Destination:
    """The reference `destination_json` stored; None for none (or a row queued before references existed)."""
    if not stored:
        return None
    if "channel" in stored:
        return ChannelRef(str(stored["channel"]))
    return ContactRef(str(stored["user"]), int(stored["index"]), ContactKind(stored["kind"]))


def shown_address(kind: ContactKind, address: str) -> str:
    """What a page's event records about the address it went to: an email address as it is, a URL (a webhook's
    or Slack's, a secret) as its scheme and host only, e.g. `https://hooks.slack.com`."""
    if kind is ContactKind.EMAIL:
        return address
    return shown_url(address)


def shown_url(url: str) -> str:
    """`scheme://host[:port]` of a URL, without credentials, path or query; anything else as it is."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return "(an unparseable URL)"
    if not parts.scheme or not host:
        return url if "/" not in url else "(an unparseable URL)"
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")
