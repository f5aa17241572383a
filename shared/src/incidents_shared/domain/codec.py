"""Canonical bytes, hashing, and decoding with upcasting of old schema versions."""

import hashlib
import json
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter, ValidationError

from incidents_shared.domain.errors import UndecodableEvent
from incidents_shared.domain.events import EVENT_TYPES, Event, EventBase

GENESIS_HASH = "0" * 64
CONTENT_TYPE = "application/json"

_EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)

RawEvent = dict[str, Any]
Upcaster = Callable[[RawEvent], RawEvent]


def canonical_json(value: Any) -> bytes:
    """One byte form for a JSON value: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def canonical_bytes(event: EventBase) -> bytes:
    """The canonical bytes of an event: what goes on the log and what is hashed."""
    return canonical_json(event.model_dump(mode="json"))


def chain_hash(previous: str, event: EventBase) -> str:
    """The hash-chain link: sha256 over the previous hash and the event's canonical bytes."""
    return hashlib.sha256(previous.encode() + canonical_bytes(event)).hexdigest()


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


def decode(value: bytes) -> Event:
    """Decode a log record's value into a typed event, upcasting old versions first."""
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
