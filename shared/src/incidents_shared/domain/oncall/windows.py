"""Restrictions: the local wall-clock windows in which a layer is on call, as instants around a given one."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from incidents_shared.domain.oncall.model import WEEKDAYS, Daily, Weekly
from incidents_shared.domain.oncall.turn import FAR_FUTURE, FAR_PAST, to_instant, wall_clock

DAY, WEEK = timedelta(days=1), timedelta(days=7)
_NEAR = range(-2, 3)  # periods around the instant's own: enough for windows up to a period long, DST included


@dataclass(frozen=True, slots=True)
class Recurrence:
    """A window `length` long, `offset` after the start of every period (a local day, or a week from Monday)."""

    period: timedelta
    offset: timedelta
    length: timedelta


@dataclass(frozen=True, slots=True)
class Window:
    """Inside a window (`inside`) or between two, over [lo, hi)."""

    inside: bool
    lo: datetime
    hi: datetime


def _since_midnight(value: time) -> timedelta:
    return timedelta(hours=value.hour, minutes=value.minute, seconds=value.second, microseconds=value.microsecond)


def recurrence(restriction: Daily | Weekly) -> Recurrence:
    if isinstance(restriction, Daily):
        start, end = _since_midnight(restriction.start), _since_midnight(restriction.end)
        return Recurrence(DAY, start, (end - start) % DAY)
    start = WEEKDAYS.index(restriction.start_day) * DAY + _since_midnight(restriction.start)
    end = WEEKDAYS.index(restriction.end_day) * DAY + _since_midnight(restriction.end)
    return Recurrence(WEEK, start, (end - start) % WEEK)


def _windows_near(rule: Recurrence, wall: datetime, zone: ZoneInfo) -> Iterator[tuple[datetime, datetime]]:
    midnight = datetime.combine(wall.date(), time())
    anchor = midnight - wall.weekday() * DAY if rule.period == WEEK else midnight
    for k in _NEAR:
        start = anchor + k * rule.period + rule.offset
        lo, hi = to_instant(start, zone), to_instant(start + rule.length, zone)
        if lo < hi:  # a window that a spring-forward gap swallowed whole is empty
            yield lo, hi


def _merged(windows: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in sorted(windows):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def window_at(restrictions: Sequence[Daily | Weekly], zone: ZoneInfo, at: datetime) -> Window:
    """Whether `at` is inside the union of the restrictions' windows, and the interval where that holds."""
    wall = wall_clock(at, zone)
    near = [w for r in restrictions for w in _windows_near(recurrence(r), wall, zone)]
    lo, hi = FAR_PAST, FAR_FUTURE
    for w_lo, w_hi in _merged(near):
        if w_lo <= at < w_hi:
            return Window(True, w_lo, w_hi)
        if w_hi <= at:
            lo = max(lo, w_hi)
        elif w_lo > at:
            hi = min(hi, w_lo)
    return Window(False, lo, hi)
