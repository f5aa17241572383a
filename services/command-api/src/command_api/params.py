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
