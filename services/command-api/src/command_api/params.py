"""Query parameter and header types shared by the routes, and the bounds of what a client may send."""

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, Field

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
INT64_MAX = 2**63 - 1  # PostgreSQL's bigint: positions, offsets and versions never exceed it
_ASCII_DIGITS = re.compile(r"[0-9]{1,19}")  # not str.isdigit(): that also takes "²", which int() refuses

# A stream position (`after`): beyond bigint it is no position this API gave out (422 before the stream starts).
StreamPosition = Annotated[int, Field(ge=0, le=INT64_MAX)]

# X-Correlation-ID: stored in every event the request appends, so bounded: at most 128 characters of ids,
# trace contexts (W3C traceparent, X-Amzn-Trace-Id) and the like. Anything else is refused (422), not cut:
# a shortened id would no longer be the one the client logged (docs/SECURITY.md, "Input bounds").
CORRELATION_ID_MAX = 128
_CORRELATION_ID = re.compile(rb"[A-Za-z0-9._:;=/+@~-]{1,%d}" % CORRELATION_ID_MAX)


def ascii_int(text: str, maximum: int = INT64_MAX) -> int | None:
    """The number `text` spells in ASCII digits (surrounding blanks allowed), or None when it is none or above
    `maximum`."""
    stripped = text.strip()
    if not _ASCII_DIGITS.fullmatch(stripped):
        return None
    value = int(stripped)
    return value if value <= maximum else None


def correlation_id_error(raw: bytes) -> str | None:
    """Why an X-Correlation-ID header value is refused, or None when it is a fine one."""
    if len(raw) > CORRELATION_ID_MAX:
        return f"at most {CORRELATION_ID_MAX} characters (this one has {len(raw)})"
    if not _CORRELATION_ID.fullmatch(raw):
        return "only letters, digits and . _ : ; = / + @ ~ - are allowed"
    return None


def _sane_time(value: datetime) -> datetime:
    """Times must lie between 1970 and 9999 in UTC (the database's range for us). A time without an offset is
    left to the route, which answers it with its own 400 problem."""
    if value.tzinfo is None:
        return value
    try:
        utc = value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("time out of range") from exc
    if utc < EARLIEST:
        raise ValueError("times before 1970 are not supported")
    return utc


QueryTime = Annotated[datetime, AfterValidator(_sane_time)]
MAX_LABEL_FILTERS = 20


def label_filter(value: str) -> tuple[str, str]:
    """`name:value` (the value may hold colons) as (name, value), or a ValueError saying what is wrong."""
    name, colon, label = value.partition(":")
    if not colon or not name:
        raise ValueError("a label is name:value, e.g. alertname:HighErrorRate")
    if len(name) > 120 or len(label) > 1_000:
        raise ValueError("a label name has at most 120 characters, its value at most 1,000")
    return name, label


def _label_text(value: str) -> str:
    label_filter(value)
    return value


LabelFilter = Annotated[str, AfterValidator(_label_text)]
