"""The status page's Atom 1.0 feed (RFC 4287), built with feedgen: one entry per customers update, newest first.

Ids are `urn:uuid:` URIs of name-based UUIDs (stable, never the internal ids); the feed's own id is derived from
the public URL. An entry's title names the component and what the incident is doing; its content is the update.
"""

import uuid
from datetime import datetime

from feedgen.feed import FeedGenerator

from command_api.status_html import Links
from command_api.status_view import STATUS_NAMESPACE, PublicIncident, PublicUpdate, StatusView

ATOM = "application/atom+xml"


def _entry_title(incident: PublicIncident) -> str:
    doing = incident.level.value if incident.open else "resolved"
    return f"{incident.component}: {doing}"


def _add(feed: FeedGenerator, incident: PublicIncident, update: PublicUpdate, links: Links) -> None:
    entry = feed.add_entry(order="append")
    entry.id(update.id.urn)
    entry.title(_entry_title(incident))
    entry.updated(update.posted_at)
    entry.published(update.posted_at)
    entry.content(update.message, type="text")
    entry.link(href=links.home, rel="alternate", type="text/html")


def atom(view: StatusView, title: str, links: Links, now: datetime) -> bytes:
    """The feed's XML (UTF-8). `updated` is the newest update's time, or `now` when there is none."""
    feed = FeedGenerator()
    feed.id(uuid.uuid5(STATUS_NAMESPACE, links.feed).urn)
    feed.title(title)
    feed.author({"name": title})
    feed.link(href=links.feed, rel="self", type=ATOM)
    feed.link(href=links.home, rel="alternate", type="text/html")
    feed.updated(view.updates[0][1].posted_at if view.updates else now)
    for incident, update in view.updates:
        _add(feed, incident, update, links)
    xml: bytes = feed.atom_str(pretty=True)
    return xml
