"""Who is on call, by brute force, written apart from incidents_shared.domain.oncall (it shares only the model).

It lists every hand-over of a layer by stepping local calendar days (or hours) from the layer's start, tries the
candidate UTC offsets of a wall-clock time one by one instead of trusting `fold`, and finds a restriction's window
by looking at the calendar days around an instant. Minute resolution: every time in the tests is a whole minute.
"""

from bisect import bisect_right
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from incidents_shared.domain.oncall.model import Daily, Layer, Schedule, Weekly

MINUTE = timedelta(minutes=1)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TURNS = {"P1D": (1, 0), "P1W": (7, 0), "P2W": (14, 0), "PT8H": (0, 8), "PT12H": (0, 12)}  # (days, hours)


def local_reading(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The earliest instant whose local reading is `wall`; in a gap, `wall` read with the offset before it."""
    offsets = {(wall + timedelta(hours=h)).replace(tzinfo=zone).utcoffset() for h in (-36, 36)}
    readings = [(wall - o).replace(tzinfo=UTC) for o in offsets if o is not None]
    matching = [u for u in readings if local_reading(u, zone) == wall]
    if matching:
        return min(matching)
    before = (wall - timedelta(hours=36)).replace(tzinfo=zone).utcoffset()
    assert before is not None
    return (wall - before).replace(tzinfo=UTC)


def handovers(layer: Layer, zone: ZoneInfo, until: datetime) -> list[datetime]:
    """Every turn's start from the layer's start up to `until`, one step at a time."""
    aware = layer.start.tzinfo is not None
    first = layer.start.astimezone(UTC) if aware else instant(layer.start, zone)
    wall = local_reading(first, zone) if aware else layer.start
    days, hours = TURNS[layer.turn]
    starts = [first]
    while starts[-1] < until:
        n = len(starts)
        starts.append(instant(wall + timedelta(days=n * days), zone) if days else first + timedelta(hours=n * hours))
    return starts


def _daily_windows(rule: Daily, day: date, zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
    end_day = day if rule.end > rule.start else day + timedelta(days=1)
    return [(instant(datetime.combine(day, rule.start), zone), instant(datetime.combine(end_day, rule.end), zone))]


def _weekly_windows(rule: Weekly, day: date, zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
    if DAYS[day.weekday()] != rule.start_day:
        return []
    begin = datetime.combine(day, rule.start)
    end_day = day
    while DAYS[end_day.weekday()] != rule.end_day or datetime.combine(end_day, rule.end) <= begin:
        end_day += timedelta(days=1)
    return [(instant(begin, zone), instant(datetime.combine(end_day, rule.end), zone))]


def inside(rules: list[Daily | Weekly], zone: ZoneInfo, at: datetime) -> bool:
    today = local_reading(at, zone).date()
    for back in range(-1, 9):
        day = today - timedelta(days=back)
        for rule in rules:
            windows = _daily_windows(rule, day, zone) if isinstance(rule, Daily) else _weekly_windows(rule, day, zone)
            if any(lo <= at < hi for lo, hi in windows):
                return True
    return False


class Oracle:
    """Answers (user, source) at whole-minute instants before `until` for one schedule."""

    def __init__(self, schedule: Schedule, until: datetime) -> None:
        self.schedule, self.zone = schedule, ZoneInfo(schedule.time_zone)
        self.starts = [handovers(layer, self.zone, until) for layer in schedule.layers]

    def who(self, at: datetime) -> tuple[str | None, str]:
        for override in reversed(self.schedule.overrides):
            if override.start <= at < override.end:
                return override.user, "override"
        for layer, starts in reversed(list(zip(self.schedule.layers, self.starts, strict=True))):
            n = bisect_right(starts, at) - 1
            if n < 0 or (layer.restrictions and not inside(layer.restrictions, self.zone, at)):
                continue
            return layer.users[n % len(layer.users)], layer.name
        return None, "gap"

    def timeline(self, start: datetime, end: datetime) -> list[tuple[datetime, str | None, str]]:
        """Minute by minute over [start, end): each change of answer with the minute it starts."""
        changes: list[tuple[datetime, str | None, str]] = []
        at = start
        while at < end:
            user, source = self.who(at)
            if not changes or changes[-1][1:] != (user, source):
                changes.append((at, user, source))
            at += MINUTE
        return changes
