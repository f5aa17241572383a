"""Query parameter types shared by the routes."""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


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
