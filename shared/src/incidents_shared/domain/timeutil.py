"""Timezone-aware UTC datetimes with one canonical text form."""

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AwareDatetime, PlainSerializer

CANONICAL_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def to_utc(value: datetime) -> datetime:
    """Normalise an aware datetime to UTC; naive datetimes are a programming error."""
    if value.tzinfo is UTC:  # already: every datetime a model holds (spares a copy per field and per dump)
        return value
    if value.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    return value.astimezone(UTC)


def format_utc(value: datetime) -> str:
    """RFC 3339 in UTC with microseconds, the form used for hashing.

    Byte for byte `strftime(CANONICAL_FORMAT)` (the year unpadded, as glibc's %Y), at about half strftime's cost:
    this runs for every datetime of every event hashed (tests/unit/test_canonical.py holds them equal).
    """
    utc = to_utc(value)
    if utc.year < 1000:  # isoformat pads the year to four digits, %Y does not
        return utc.strftime(CANONICAL_FORMAT)
    return utc.isoformat(timespec="microseconds")[:-6] + "Z"  # drop "+00:00"


UtcDateTime = Annotated[
    AwareDatetime,
    AfterValidator(to_utc),
    PlainSerializer(format_utc, return_type=str, when_used="json"),
]


def known_zone(value: str) -> str:
    """An IANA time zone name zoneinfo knows, or a ValueError that says what to use."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a zoneinfo directory ("Europe"), a long name
        raise ValueError(f"unknown time zone {value!r} (use an IANA name like Europe/Amsterdam)") from exc
    return value


TimeZoneName = Annotated[str, AfterValidator(known_zone)]
