"""The fast canonical forms (orjson, isoformat) are byte for byte the reference ones (json module, strftime)."""

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents_shared.domain import events as e
from incidents_shared.domain.codec import _EVENT_ADAPTER, canonical_bytes, canonical_json
from incidents_shared.domain.timeutil import CANONICAL_FORMAT, format_utc, to_utc
from tests.unit.builders import event

ZONES = st.one_of(st.just(UTC), st.integers(-23 * 60, 23 * 60).map(lambda m: timezone(timedelta(minutes=m))))


@settings(max_examples=500)
@given(st.datetimes(timezones=ZONES, min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
def test_format_utc_is_strftime_of_the_canonical_format(value: datetime) -> None:
    assert format_utc(value) == to_utc(value).strftime(CANONICAL_FORMAT)


@pytest.mark.parametrize("year", [1, 9, 99, 999, 1000, 2026, 9999])
def test_format_utc_spells_the_year_like_strftime(year: int) -> None:
    value = datetime(year, 6, 1, 12, 0, 0, 5, tzinfo=UTC)
    assert format_utc(value) == value.strftime(CANONICAL_FORMAT)


# What an event dumps to in JSON mode: no floats (test below), strings of any text the log can store.
TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=500)
@given(JSON_VALUES)
def test_orjson_with_sorted_keys_writes_the_canonical_json(value: Any) -> None:
    assert orjson.dumps(value, option=orjson.OPT_SORT_KEYS) == canonical_json(value)


@pytest.mark.parametrize("text", ["\n\t\x01\x1f\x7f", "\u2028\u2029", "é✓😀", '"\\/'], ids=repr)
def test_orjson_escapes_text_like_the_json_module(text: str) -> None:
    assert orjson.dumps({"t": text}, option=orjson.OPT_SORT_KEYS) == canonical_json({"t": text})


def test_no_event_has_a_float_field() -> None:
    """orjson and the json module spell some floats differently (1e+16 / 1e16): events must not carry any."""
    assert '"number"' not in json.dumps(_EVENT_ADAPTER.json_schema())


@pytest.mark.parametrize("cls", e.EVENT_CLASSES, ids=lambda cls: e.event_type(cls))
def test_canonical_bytes_of_every_event_are_the_json_modules(cls: type[e.EventBase]) -> None:
    sample = event(cls)
    assert canonical_bytes(sample) == canonical_json(sample.model_dump(mode="json"))


def test_an_integer_beyond_64_bits_takes_the_json_modules_path() -> None:
    sample = event(e.AlertCorrelated)
    assert isinstance(sample, e.AlertCorrelated)
    huge = sample.model_copy(update={"data": sample.data.model_copy(update={"count": 2**70})})
    assert canonical_bytes(huge) == canonical_json(huge.model_dump(mode="json"))
    assert b"1180591620717411303424" in canonical_bytes(huge)
