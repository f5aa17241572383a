"""`decode` (pydantic's JSON mode first) accepts and rejects exactly what `decode_slow`, the reference, does."""

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents_shared.domain import events as e
from incidents_shared.domain.codec import canonical_bytes, decode, decode_slow
from incidents_shared.domain.errors import UndecodableEvent
from tests.unit.builders import event


def _outcome(decoder: Any, value: bytes) -> tuple[str, object]:
    try:
        return "event", decoder(value)
    except UndecodableEvent as exc:
        return "rejected", str(exc)


def _same(value: bytes) -> tuple[str, object]:
    fast, slow = _outcome(decode, value), _outcome(decode_slow, value)
    assert fast == slow
    return fast


def _raw(cls: type[e.EventBase] = e.IncidentLogged, **changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(canonical_bytes(event(cls)))
    return {**raw, **changes}


def _text(raw: dict[str, Any]) -> str:
    return json.dumps(raw, ensure_ascii=False)


@pytest.mark.parametrize("cls", e.EVENT_CLASSES, ids=lambda cls: e.event_type(cls))
def test_every_canonical_event_decodes_alike_on_both_paths(cls: type[e.EventBase]) -> None:
    kind, decoded = _same(canonical_bytes(event(cls)))
    assert kind == "event" and decoded == event(cls)


@pytest.mark.parametrize(
    "changes",
    [{"schema_version": 1}, {"schema_version": 2}, {}],
    ids=["v1-note", "v2-note", "no-schema-version"],
)
def test_notes_are_upcast_alike(changes: dict[str, Any]) -> None:
    raw = {k: v for k, v in _raw(e.NoteAdded).items() if k != "schema_version"}
    if changes.get("schema_version") == 1:  # v1 notes had no kind
        raw["data"] = {k: v for k, v in raw["data"].items() if k != "kind"}
    kind, decoded = _same(json.dumps({**raw, **changes}).encode())
    assert kind == "event" and isinstance(decoded, e.NoteAdded) and decoded.schema_version == 2


def _in_text(raw_text: str) -> bytes:
    """A record whose correlation id is spelled `raw_text` inside the JSON, verbatim (no escaping)."""
    spelled = _text(_raw())
    assert '"correlation-system"' in spelled
    return spelled.replace('"correlation-system"', f'"{raw_text}"').encode()


POISON = {
    "nul-escape": _text(_raw(correlation_id="a\x00b")).encode(),
    "raw-nul": _in_text("a\x00b"),
    "lone-surrogate-escape": json.dumps(_raw(correlation_id="a\ud800b")).encode(),
    "raw-control-character": _in_text("a\tb"),
    "surrogate-as-utf8-bytes": _in_text("ab").replace(b'"ab"', b'"a\xed\xa0\x80b"'),
    "invalid-utf8": _text(_raw()).encode()[:-2] + b"\xff}",
    "trailing-data": _text(_raw()).encode() + b" {}",
    "duplicate-key-last-invalid": (_text(_raw())[:-1] + ',"correlation_id":""}').encode(),
    "nan": _text(_raw(expected_version=0)).replace('"expected_version": 0', '"expected_version": NaN').encode(),
    "fractional-revision": _text(_raw(expected_version=1.5)).encode(),
    "unknown-type": _text(_raw(type="incident.exploded")).encode(),
    "extra-field": _text(_raw(colour="red")).encode(),
    "future-schema": _text(_raw(schema_version=99)).encode(),
    "not-an-object": b"[]",
    "empty": b"",
}


@pytest.mark.parametrize("value", POISON.values(), ids=POISON.keys())
def test_poison_is_rejected_alike_and_for_the_same_reason(value: bytes) -> None:
    kind, _ = _same(value)
    assert kind == "rejected"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(b"\xef\xbb\xbf" + canonical_bytes(event(e.IncidentLogged)), id="utf8-bom"),
        pytest.param(_text(_raw()).encode("utf-16"), id="utf16"),
        pytest.param(b" \n" + canonical_bytes(event(e.IncidentLogged)) + b"\n", id="whitespace"),
        pytest.param((_text(_raw())[:-1] + ',"correlation_id":"x"}').encode(), id="duplicate-key"),
        pytest.param(json.dumps(_raw(correlation_id="caf\u00e9 \u2028")).encode(), id="ascii-escapes"),
    ],
)
def test_unusual_but_valid_json_is_accepted_alike(value: bytes) -> None:
    kind, _ = _same(value)
    assert kind == "event"


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_damaged_record_is_judged_alike(data: st.DataObject) -> None:
    value = bytearray(canonical_bytes(event(data.draw(st.sampled_from(e.EVENT_CLASSES)))))
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(value) - 1))
        value[at : at + data.draw(st.integers(0, 2))] = data.draw(st.binary(max_size=2))
    _same(bytes(value))
