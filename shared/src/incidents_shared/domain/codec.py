"""Canonical bytes, hashing, and decoding with upcasting of old schema versions."""

import hashlib
import json
from collections.abc import Callable
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from incidents_shared.domain.errors import UndecodableEvent
from incidents_shared.domain.events import EVENT_TYPES, TYPE_OF, Event, EventBase
from incidents_shared.domain.text import TEXT_PROVEN_STORABLE

GENESIS_HASH = "0" * 64
CONTENT_TYPE = "application/json"

_EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)

RawEvent = dict[str, Any]
Upcaster = Callable[[RawEvent], RawEvent]


def canonical_json(value: Any) -> bytes:
    """One byte form for a JSON value: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def canonical_bytes(event: EventBase) -> bytes:
    """The canonical bytes of an event: what goes on the log and what is hashed.

    orjson writes the same bytes as `canonical_json` for what an event dumps to (strings, integers, booleans,
    null, objects, arrays; no floats in any event: tests/unit/test_canonical.py checks both), several times
    faster; integers beyond 64 bits, which orjson refuses, take the json module's path.
    """
    raw = event.model_dump(mode="json")
    try:
        return orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return canonical_json(raw)


def chain_hash(previous: str, event: EventBase, canonical: bytes | None = None) -> str:
    """The hash-chain link: sha256 over the previous hash and the event's canonical bytes.

    `canonical`: the event's canonical bytes when the caller has them already (they are not recomputed).
    """
    body = canonical_bytes(event) if canonical is None else canonical
    return hashlib.sha256(previous.encode() + body).hexdigest()


def request_hash(body: Any) -> str:
    """A stable hash of a command's body, for Idempotency-Key reuse checks."""
    return hashlib.sha256(canonical_json(body)).hexdigest()


def _note_added_v1_to_v2(raw: RawEvent) -> RawEvent:
    """v1 notes had no kind; every v1 note was a plain note."""
    data = {**raw["data"], "kind": raw["data"].get("kind", "note")}
    return {**raw, "data": data, "schema_version": 2}


UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("incident.note_added", 1): _note_added_v1_to_v2,
}


def upcast(raw: RawEvent) -> RawEvent:
    """Apply vN->vN+1 steps until the payload is at its current schema version."""
    while (step := UPCASTERS.get((raw.get("type", ""), raw.get("schema_version", 1)))) is not None:
        raw = step(raw)
    return raw


# JSON text without `\\u` escapes that pydantic's parser accepted is valid UTF-8 without control characters
# in strings (raw ones are invalid JSON), so no string in it holds a NUL or a lone surrogate.
_PROVEN = {TEXT_PROVEN_STORABLE: True}


def _needs_upcast(event: EventBase) -> bool:
    """Whether `upcast` would have changed this record's payload (its schema_version as written, default 1)."""
    written = event.schema_version if "schema_version" in event.model_fields_set else 1
    return (TYPE_OF[type(event)], written) in UPCASTERS


def decode(value: bytes) -> Event:
    """Decode a log record's value into a typed event, upcasting old versions first.

    Records are validated straight from their bytes (pydantic's JSON mode) when that succeeds and no upcaster
    applies; anything else, including every rejection, goes through `decode_slow`, so what is rejected and why
    stays that function's answer. Records with `\\u` escapes take the slow path too: only without them is the
    storable-text check provably redundant (see _PROVEN), and the two parsers might treat lone surrogates apart.
    """
    if b"\\u" not in value:
        try:
            event = _EVENT_ADAPTER.validate_json(value, context=_PROVEN)
        except ValueError:  # ValidationError included: the slow path gives the reason
            pass
        else:
            if not _needs_upcast(event):
                return event
    return decode_slow(value)


def decode_slow(value: bytes) -> Event:
    """`decode` through the json module, `upcast` and pydantic's Python mode: the reference decoder."""
    try:
        raw = json.loads(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UndecodableEvent(f"not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise UndecodableEvent("an event is a JSON object")
    if not isinstance(raw.get("type"), str) or raw["type"] not in EVENT_TYPES:
        raise UndecodableEvent(f"unknown event type {raw.get('type')!r}")
    try:
        return _EVENT_ADAPTER.validate_python(upcast(raw))
    except (ValidationError, KeyError, TypeError, AttributeError) as exc:
        raise UndecodableEvent(f"invalid {raw.get('type')} payload: {exc}") from exc


def headers_for(event: EventBase) -> list[tuple[str, bytes]]:
    """Kafka headers that let readers route a record without decoding it."""
    data = event.model_dump(include={"type", "schema_version"})
    return [
        ("type", str(data["type"]).encode()),
        ("schema_version", str(data["schema_version"]).encode()),
        ("content-type", CONTENT_TYPE.encode()),
    ]
