"""Turn lengths (ISO 8601 durations) and the wall-clock rule that turns a local time into an instant."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

FAR_PAST = datetime.min.replace(tzinfo=UTC)
FAR_FUTURE = datetime.max.replace(tzinfo=UTC)
_ISO_DURATION = re.compile(r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")


@dataclass(frozen=True, slots=True)
class TurnLength:
    """Either whole local days (`days` > 0: the hand-over keeps its wall-clock time) or exact `elapsed` time."""

    days: int
    elapsed: timedelta


@lru_cache(maxsize=4096)
def parse_turn(text: str) -> TurnLength:
    """'P1D', 'P1W', 'P2W', 'PT12H', 'PT90M' -> TurnLength; ValueError (naming the rule broken) otherwise."""
    match = _ISO_DURATION.fullmatch(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(f"{text!r} is not an ISO 8601 duration of weeks, days or hours (P1D, P1W, PT12H)")
    weeks, days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    calendar_days, elapsed = 7 * weeks + days, timedelta(hours=hours, minutes=minutes, seconds=seconds)
    if calendar_days and elapsed:
        raise ValueError(f"{text!r} mixes days and hours; use whole days or weeks (P1D) or hours (PT12H)")
    if not calendar_days and not elapsed:
        raise ValueError(f"{text!r} must be positive")
    return TurnLength(calendar_days, elapsed)


def to_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a naive local wall-clock time in `zone`, as RFC 5545 (3.3.5) reads one.

    In a spring-forward gap the offset before the gap applies, so the time moves forward by the gap (02:30 on
    2027-03-28 in Europe/Amsterdam is 03:30 CEST); in a fall-back fold the first occurrence is taken (02:30 on
    2027-10-31 is 02:30 CEST). This is zoneinfo's fold=0.
    """
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def wall_clock(instant: datetime, zone: ZoneInfo) -> datetime:
    """The naive local wall-clock reading of an aware `instant` in `zone`."""
    return instant.astimezone(zone).replace(tzinfo=None, fold=0)


def instant_of(value: datetime, zone: ZoneInfo) -> datetime:
    """An aware datetime as UTC; a naive one read as wall-clock time in `zone` (see `to_instant`)."""
    return value.astimezone(UTC) if value.tzinfo is not None else to_instant(value, zone)
