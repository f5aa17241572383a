"""Canonical bytes, hashing and decoding (with upcasting) of the events on the log."""

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest

from incidents_shared.domain import commands as c
from incidents_shared.domain import events as e
from incidents_shared.domain import payloads as p
from incidents_shared.domain.codec import canonical_bytes, decode, headers_for
from incidents_shared.domain.enums import ActorKind, Level, NoteKind, Priority
from incidents_shared.domain.errors import UndecodableEvent
from tests.unit.builders import SAMPLE_DATA, event

# sha256 of the canonical bytes of _golden_event(), computed once and pasted.
GOLDEN_SHA256 = "60f82fc2f17b6d896e4bde45b5070944026e3e166e3ca81c251cb7cc9716e3d7"


def _golden_event() -> e.IncidentLogged:
    """Spelled out literally so that no builder change can move the golden hash."""
    return e.IncidentLogged(
        event_id=UUID("11111111-2222-4333-8444-555555555555"),
        incident_id=UUID("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"),
        occurred_at=datetime(2026, 1, 1, 2, 0, tzinfo=timezone(timedelta(hours=2))),
        recorded_at=datetime(2026, 1, 1, 0, 0, 1, 250, tzinfo=UTC),
        actor=e.Actor(id="alice", kind=ActorKind.USER, role="reporter"),
        correlation_id="req-1",
        data=p.LoggedData(
            title="Paiement échoue ✓",
            service="checkout",
            reporter="alice",
            detected_at=datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC),
            labels={"zone": "b", "env": "prod"},
            impact=Level.HIGH,
            urgency=Level.LOW,
            priority=Priority.P3,
        ),
    )


@pytest.mark.parametrize("cls", e.EVENT_CLASSES, ids=e.event_type)
def test_every_event_survives_a_round_trip(cls: type[e.EventBase]) -> None:
    original = event(cls, expected_version=3, causation_id="evt-1", request_hash="f" * 64)

    decoded = decode(canonical_bytes(original))

    assert decoded == original
    assert type(decoded) is cls
    assert canonical_bytes(decoded) == canonical_bytes(original)


def test_every_event_class_has_a_sample() -> None:
    assert set(SAMPLE_DATA) == set(e.EVENT_CLASSES)


def test_canonical_bytes_have_sorted_keys_no_spaces_and_utc_microseconds() -> None:
    acknowledged = e.IncidentAcknowledged(
        event_id=UUID("11111111-2222-4333-8444-555555555555"),
        incident_id=UUID("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"),
        occurred_at=datetime(2026, 1, 1, 2, 0, tzinfo=timezone(timedelta(hours=2))),
        recorded_at=datetime(2026, 1, 1, tzinfo=UTC),
        actor=e.Actor(id="bob", kind=ActorKind.USER, role="responder"),
        correlation_id="req-2",
        data=p.AcknowledgedData(),
    )

    assert canonical_bytes(acknowledged) == (
        b'{"actor":{"id":"bob","kind":"user","role":"responder"},"causation_id":null,"correlation_id":"req-2",'
        b'"data":{"comment":null},"event_id":"11111111-2222-4333-8444-555555555555","expected_version":null,'
        b'"incident_id":"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee","occurred_at":"2026-01-01T00:00:00.000000Z",'
        b'"recorded_at":"2026-01-01T00:00:00.000000Z","request_hash":null,"schema_version":1,'
        b'"type":"incident.acknowledged"}'
    )


def test_a_non_utc_input_is_stored_in_utc() -> None:
    golden = _golden_event()

    assert golden.occurred_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert golden.occurred_at.utcoffset() == timedelta(0)
    assert b'"occurred_at":"2026-01-01T00:00:00.000000Z"' in canonical_bytes(golden)
    assert b'"recorded_at":"2026-01-01T00:00:01.000250Z"' in canonical_bytes(golden)


def test_canonical_bytes_do_not_depend_on_construction_order() -> None:
    golden = _golden_event()
    shuffled = e.IncidentLogged.model_validate(dict(reversed(golden.model_dump().items())))

    assert canonical_bytes(shuffled) == canonical_bytes(golden)


def test_golden_hash_of_the_canonical_bytes() -> None:
    # A change of the byte form would break every hash chain already on the log.
    digest = hashlib.sha256(canonical_bytes(_golden_event())).hexdigest()

    assert digest == GOLDEN_SHA256


def test_headers_name_type_version_and_content_type() -> None:
    assert headers_for(event(e.NoteAdded)) == [
        ("type", b"incident.note_added"),
        ("schema_version", b"2"),
        ("content-type", b"application/json"),
    ]


def _raw(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(canonical_bytes(_golden_event()))
    raw.update(changes)
    return raw


def _bytes(raw: object) -> bytes:
    return json.dumps(raw).encode()


def test_a_v1_note_without_kind_is_upcast_to_a_v2_plain_note() -> None:
    v2 = event(e.NoteAdded, p.NoteAddedData(kind=NoteKind.NOTE, text="router rebooted"))
    v1: dict[str, Any] = json.loads(canonical_bytes(v2))
    v1["schema_version"] = 1
    del v1["data"]["kind"]

    decoded = decode(_bytes(v1))

    assert isinstance(decoded, e.NoteAdded)
    assert decoded.schema_version == 2
    assert decoded.data == p.NoteAddedData(kind=NoteKind.NOTE, text="router rebooted")
    assert decoded == v2


def test_a_v2_note_keeps_its_kind() -> None:
    v2 = event(e.NoteAdded, p.NoteAddedData(kind=NoteKind.ROOT_CAUSE, text="bad deploy"))

    decoded = decode(canonical_bytes(v2))

    assert isinstance(decoded, e.NoteAdded)
    assert decoded.data.kind is NoteKind.ROOT_CAUSE


def _without(key: str) -> dict[str, Any]:
    raw = _raw()
    del raw[key]
    return raw


def _without_data(key: str) -> dict[str, Any]:
    raw = _raw()
    raw["data"] = {k: v for k, v in raw["data"].items() if k != key}
    return raw


def _with_data(**changes: Any) -> dict[str, Any]:
    raw = _raw()
    raw["data"] = {**raw["data"], **changes}
    return raw


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(b"{not json", id="not-json"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
        pytest.param(b"", id="empty"),
        pytest.param(_bytes([_raw()]), id="json-array"),
        pytest.param(_bytes("incident.logged"), id="json-string"),
        pytest.param(_bytes(_raw(type="incident.exploded")), id="unknown-type"),
        pytest.param(_bytes(_without("type")), id="no-type"),
        pytest.param(_bytes(_without("correlation_id")), id="missing-envelope-field"),
        pytest.param(_bytes(_without("data")), id="missing-data"),
        pytest.param(_bytes(_without_data("title")), id="missing-payload-field"),
        pytest.param(_bytes(_with_data(title=None)), id="null-payload-field"),
        pytest.param(_bytes(_raw(colour="red")), id="extra-envelope-field"),
        pytest.param(_bytes(_with_data(colour="red")), id="extra-payload-field"),
        pytest.param(_bytes(_raw(occurred_at="2026-01-01T00:00:00")), id="naive-datetime"),
        pytest.param(_bytes(_with_data(detected_at="2026-01-01T00:00:00")), id="naive-payload-datetime"),
        pytest.param(_bytes(_with_data(priority="P1")), id="priority-off-the-matrix"),
        pytest.param(_bytes(_raw(type="incident.note_added", schema_version=1, data="text")), id="v1-note-bad-data"),
    ],
)
def test_undecodable_values_raise_undecodable_event(value: bytes) -> None:
    with pytest.raises(UndecodableEvent):
        decode(value)


@pytest.mark.parametrize("bad_type", [["incident.logged"], {"name": "incident.logged"}], ids=["array", "object"])
def test_an_unhashable_type_is_undecodable(bad_type: object) -> None:
    with pytest.raises(UndecodableEvent):
        decode(_bytes(_raw(type=bad_type)))


def test_an_unknown_future_schema_version_is_undecodable() -> None:
    with pytest.raises(UndecodableEvent):
        decode(_bytes(_raw(schema_version=99)))


@pytest.mark.parametrize("bad", ["nul\x00byte", "lone \ud800 surrogate"])
def test_text_the_log_cannot_store_is_refused_in_commands_and_events(bad: str) -> None:
    with pytest.raises(ValueError, match=r"NUL|surrogate"):
        c.AddNote(text=bad)
    with pytest.raises(ValueError, match=r"NUL|surrogate"):
        c.LogIncident(title="ok", service="svc", labels={"k": bad})
    with pytest.raises(UndecodableEvent):
        decode(_bytes(_raw(correlation_id=bad)))
