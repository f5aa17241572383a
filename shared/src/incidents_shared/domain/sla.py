"""SLA clock arithmetic: wall-clock or business-hours time, time-zone aware including DST. Pure.

All arithmetic happens on UTC instants; a business day's window is built from local wall times in its own
time zone, so a DST change shortens or lengthens the window by exactly what the clocks skip or repeat.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from incidents_shared.domain.timeutil import to_utc

# A calendar with no usable day would never reach a target; this bounds the search (ten years of days).
_MAX_DAYS = 3660
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class CalendarNeverOpen(ValueError):
    """A business-hours calendar has no open time in which a target could ever be reached."""


def parse_duration(text: str) -> timedelta:
    """'90s', '15m', '4h', '2d' (decimals allowed) -> timedelta; ValueError otherwise."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 30s, 15m, 4h or 2d")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


@dataclass(frozen=True)
class BusinessHours:
    """Open on `weekdays` (0 = Monday) from `opens` to `closes`, local time in `timezone`."""

    timezone: str
    weekdays: frozenset[int]
    opens: time
    closes: time

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The open interval of a local date as UTC instants, or None when closed that day."""
        if day.weekday() not in self.weekdays:
            return None
        zone = ZoneInfo(self.timezone)
        start = datetime.combine(day, self.opens, tzinfo=zone).astimezone(UTC)
        end = datetime.combine(day, self.closes, tzinfo=zone).astimezone(UTC)
        return (start, end) if end > start else None

    def local_date(self, instant: datetime) -> date:
        return to_utc(instant).astimezone(ZoneInfo(self.timezone)).date()


def add_time(start: datetime, duration: timedelta, hours: BusinessHours | None) -> datetime:
    """The instant at which `duration` of SLA time has passed since `start` (24x7 when `hours` is None)."""
    start = to_utc(start)
    if hours is None:
        return start + duration
    remaining = duration
    day = hours.local_date(start) - timedelta(days=1)  # a window may begin on the previous local date in UTC
    for _ in range(_MAX_DAYS):
        window = hours.window(day)
        day += timedelta(days=1)
        if window is None or window[1] <= start:
            continue
        begin = max(start, window[0])
        available = window[1] - begin
        if remaining <= available:
            return begin + remaining
        remaining -= available
    raise CalendarNeverOpen(f"no business time within {_MAX_DAYS} days of {start.isoformat()}")


def elapsed(start: datetime, end: datetime, hours: BusinessHours | None) -> timedelta:
    """SLA time between two instants (zero when `end` is not after `start`)."""
    start, end = to_utc(start), to_utc(end)
    if end <= start:
        return timedelta(0)
    if hours is None:
        return end - start
    total = timedelta(0)
    day = hours.local_date(start) - timedelta(days=1)
    while day <= hours.local_date(end):
        window = hours.window(day)
        day += timedelta(days=1)
        if window is not None:
            overlap = min(end, window[1]) - max(start, window[0])
            total += max(overlap, timedelta(0))
    return total


def shift_for_pause(due: datetime, paused_at: datetime, resumed_at: datetime, hours: BusinessHours | None) -> datetime:
    """The new due time after a pause: the SLA time that was left when paused, counted again from the resume."""
    left = elapsed(paused_at, due, hours)
    return add_time(max(resumed_at, paused_at), left, hours) if left > timedelta(0) else due
