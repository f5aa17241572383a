"""The bounds of what a client may send in headers and positions (issue 19, finding 6). Pure."""

import pytest

from command_api.params import CORRELATION_ID_MAX, INT64_MAX, ascii_int, correlation_id_error


@pytest.mark.parametrize(("text", "value"), [("0", 0), ("42", 42), (" 7 ", 7), (str(INT64_MAX), INT64_MAX)])
def test_ascii_digits_are_read(text: str, value: int) -> None:
    assert ascii_int(text) == value


@pytest.mark.parametrize("text", ["²", "3²", "١٢", "-1", "+1", "1_000", "", " ", "0x10", str(INT64_MAX + 1), "9" * 40])
def test_what_int_or_bigint_cannot_take_is_none(text: str) -> None:
    assert ascii_int(text) is None


def test_a_lower_maximum_bounds_the_value() -> None:
    assert ascii_int("100", maximum=99) is None
    assert ascii_int("99", maximum=99) == 99


@pytest.mark.parametrize(
    "value",
    [b"req-abc-123", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", b"Root=1-ab;Sampled=1", b"a" * 128],
)
def test_ids_and_trace_contexts_are_fine_correlation_ids(value: bytes) -> None:
    assert correlation_id_error(value) is None


def test_a_long_correlation_id_is_refused_with_its_length() -> None:
    assert correlation_id_error(b"a" * (CORRELATION_ID_MAX + 1)) == "at most 128 characters (this one has 129)"


@pytest.mark.parametrize(
    "value", [b"caf\xe9", b"\xc2\xb2", b"a b", b"a\tb", b'"quoted"', b"a\\b", b"<script>", b"a\x00"]
)
def test_other_bytes_are_refused(value: bytes) -> None:
    assert correlation_id_error(value) == "only letters, digits and . _ : ; = / + @ ~ - are allowed"
