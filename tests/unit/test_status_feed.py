"""The status feed against Atom 1.0 (RFC 4287): a RELAX NG grammar of the parts it uses, plus the rules a grammar
cannot say (section 4.1.1's author and alternate-link rules, unique entry ids, RFC 3339 dates, absolute IRIs).

`ATOM_RNC` is written here, after RFC 4287's informative compact grammar (appendix B), for the elements and
attributes the feed uses; anything else (extension elements) is refused, so a surprise is noticed.
"""

import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import rnc2rng
from lxml import etree

from command_api import status_feed
from command_api.status_html import Links
from command_api.status_view import CustomerUpdate, build_view

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_RNC = r"""
default namespace atom = "http://www.w3.org/2005/Atom"
start = feed

common = attribute xml:base { text }?, attribute xml:lang { text }?
textConstruct = common, (attribute type { "text" | "html" }?, text)
date = common, xsd:dateTime
person = element name { text } & element uri { text }? & element email { text }?

feed = element feed {
  common,
  (element author { common, person }*
   & element category { common, attribute term { text }, attribute scheme { text }?, attribute label { text }? }*
   & element contributor { common, person }*
   & element generator { common, attribute uri { text }?, attribute version { text }?, text }?
   & element icon { common, text }?
   & element id { common, xsd:anyURI }
   & link*
   & element logo { common, text }?
   & element rights { textConstruct }?
   & element subtitle { textConstruct }?
   & element title { textConstruct }
   & element updated { date }),
  entry*
}

link = element link {
  common,
  attribute href { xsd:anyURI },
  attribute rel { text }?,
  attribute type { text }?,
  attribute hreflang { text }?,
  attribute title { text }?,
  attribute length { text }?,
  empty
}

entry = element entry {
  common,
  (element author { common, person }*
   & element content { common, attribute type { "text" | "html" }?, text }?
   & element id { common, xsd:anyURI }
   & link*
   & element published { date }?
   & element summary { textConstruct }?
   & element title { textConstruct }
   & element updated { date })
}
"""
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
NS = {"a": ATOM_NS}


def atom_schema() -> etree.RelaxNG:
    rng = rnc2rng.dumps(rnc2rng.loads(ATOM_RNC))
    return etree.RelaxNG(etree.fromstring(rng.encode()))


def _absolute(iri: str) -> bool:
    parts = urlsplit(iri)
    return bool(parts.scheme) and (parts.scheme in ("urn", "tag") or bool(parts.netloc))


def _alternates_unique(element: etree._Element) -> list[str]:
    seen = [(link.get("type"), link.get("hreflang")) for link in element.findall("a:link[@rel='alternate']", NS)]
    return [] if len(seen) == len(set(seen)) else ["two alternate links with the same type and hreflang"]


def rfc_problems(xml: bytes) -> list[str]:
    """What the grammar above cannot check about a feed (RFC 4287 sections 3.3, 4.1.1, 4.1.2, 4.2.6)."""
    feed = etree.fromstring(xml)
    problems = _alternates_unique(feed)
    entries = feed.findall("a:entry", NS)
    if not feed.findall("a:author", NS) and any(not e.findall("a:author", NS) for e in entries):
        problems.append("an entry without an author in a feed without one (4.1.1)")
    ids = [e.findtext("a:id", namespaces=NS) or "" for e in entries]
    if len(ids) != len(set(ids)):
        problems.append("two entries with the same id")
    for iri in [feed.findtext("a:id", namespaces=NS) or "", *ids]:
        if not _absolute(iri):
            problems.append(f"id {iri!r} is not an absolute IRI (4.2.6)")
    for stamp in feed.iterfind(".//a:updated", NS):
        if not RFC3339.fullmatch(stamp.text or ""):
            problems.append(f"updated {stamp.text!r} is not an RFC 3339 date-time (3.3)")
    if not any(link.get("rel") == "self" for link in feed.findall("a:link", NS)):
        problems.append("no self link (4.1.1 recommends one)")
    for entry in entries:
        problems += _alternates_unique(entry)
        if entry.find("a:content", NS) is None and entry.find("a:link[@rel='alternate']", NS) is None:
            problems.append("an entry with neither content nor an alternate link (4.1.2)")
    return problems


def validate(xml: bytes) -> list[str]:
    """Every way `xml` is not a valid Atom 1.0 feed of the shape the status page serves; [] when it is."""
    schema = atom_schema()
    if not schema.validate(etree.fromstring(xml)):
        return [str(error) for error in schema.error_log]
    return rfc_problems(xml)


NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LINKS = Links("https://status.example")


def _update(message: str, ago_h: float, incident: uuid.UUID) -> CustomerUpdate:
    return CustomerUpdate(uuid.uuid4(), incident, NOW - timedelta(hours=ago_h), message, "checkout", True, False, None)


def test_a_feed_with_updates_is_valid_atom_with_one_entry_per_update_newest_first() -> None:
    incident = uuid.uuid4()
    view = build_view([_update("Looking into it", 2, incident), _update("Fixed <b>", 1, incident)], [], {}, NOW)
    xml = status_feed.atom(view, "Acme status", LINKS, NOW)
    assert validate(xml) == []
    feed = etree.fromstring(xml)
    assert [e.findtext("a:content", namespaces=NS) for e in feed.findall("a:entry", NS)] == [
        "Fixed <b>",
        "Looking into it",
    ]
    assert feed.findtext("a:updated", namespaces=NS) == (NOW - timedelta(hours=1)).isoformat()
    self_link = feed.find("a:link[@rel='self']", NS)
    assert self_link is not None and self_link.get("href") == "https://status.example/status/feed.atom"
    assert all((e.findtext("a:id", namespaces=NS) or "").startswith("urn:uuid:") for e in feed.findall("a:entry", NS))
    assert str(incident) not in xml.decode()


def test_an_empty_feed_is_valid_and_updated_now() -> None:
    xml = status_feed.atom(build_view([], ["checkout"], {}, NOW), "Acme status", LINKS, NOW)
    assert validate(xml) == []
    assert etree.fromstring(xml).findtext("a:updated", namespaces=NS) == NOW.isoformat()


def test_the_checks_catch_what_is_not_atom() -> None:
    bad = (
        f'<feed xmlns="{ATOM_NS}"><id>relative</id><title>t</title><updated>yesterday</updated>'
        "<entry><id>urn:uuid:1</id><title>a</title><updated>2026-12-01T00:00:00Z</updated></entry></feed>"
    ).encode()
    assert validate(bad)  # the grammar refuses "yesterday" as a date-time
    problems = rfc_problems(bad)
    assert any("4.1.1" in p for p in problems) and any("not an absolute IRI" in p for p in problems)
    assert any("3.3" in p for p in problems) and any("self link" in p for p in problems)
    assert any("4.1.2" in p for p in problems)
