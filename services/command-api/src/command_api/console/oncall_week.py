"""Pure presentation of a schedule's week for the console: the shifts cut at the schedule's local midnights, one
list per day, overrides and gaps named as such. No I/O, no clock: the shifts come from `domain.oncall.shifts`
(the code behind GET /v1/schedules/{id}/shifts) and "today" is passed in."""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from incidents_shared.domain.oncall import GAP, OVERRIDE, Shift, to_instant
from incidents_shared.domain.oncall.turn import wall_clock

WEEK = timedelta(days=7)
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
FIRST_WEEK, LAST_WEEK = date(2000, 1, 3), date(2199, 12, 23)  # Mondays: the weeks the console shows
FORM_TIME = "%Y-%m-%dT%H:%M"  # <input type="datetime-local">: wall-clock time in the schedule's zone


class BadWeek(ValueError):
    """`week` is not a date the console shows (YYYY-MM-DD, 2000 to 2199)."""


@dataclass(frozen=True)
class Segment:
    """The part of a shift within one local day; `shift` is the whole of it (what "Take this shift" offers)."""

    shift: Shift
    start: datetime  # aware, in the schedule's zone
    end: datetime
    from_before: bool  # the shift began on an earlier day
    goes_on: bool  # the shift goes on into the next day

    @property
    def kind(self) -> str:
        """ "override", "gap" or "layer": what the page says (in words, not only by colour)."""
        return self.shift.source if self.shift.source in (OVERRIDE, GAP) else "layer"

    @property
    def span(self) -> str:
        end = "24:00" if self.end.date() > self.start.date() else f"{self.end:%H:%M}"  # to the next midnight
        return f"{self.start:%H:%M}–{end}"


@dataclass(frozen=True)
class Day:
    day: date
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class Week:
    monday: date
    zone: ZoneInfo
    days: tuple[Day, ...]

    @property
    def previous(self) -> date:
        return self.monday - WEEK

    @property
    def next(self) -> date:
        return self.monday + WEEK

    @property
    def has_previous(self) -> bool:
        return self.previous >= FIRST_WEEK

    @property
    def has_next(self) -> bool:
        return self.next <= LAST_WEEK


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def parse_week(value: str | None, today: date) -> date:
    """The Monday of the week `value` (YYYY-MM-DD, any day of it) falls in; no value: this week. BadWeek else."""
    if value is None or not value.strip():
        return monday_of(today)
    if not ISO_DATE.fullmatch(value):
        raise BadWeek("week: a date as YYYY-MM-DD")
    try:
        monday = monday_of(date.fromisoformat(value))
    except ValueError:
        raise BadWeek("week: no such date") from None
    if not FIRST_WEEK <= monday <= LAST_WEEK:
        raise BadWeek(f"week: between {FIRST_WEEK.year} and {LAST_WEEK.year}")
    return monday


def midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant (UTC) a local day begins (a midnight in a DST gap moves forward, as RFC 5545 reads it)."""
    return to_instant(datetime.combine(day, time()), zone)


def week_period(monday: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of the week in UTC: Monday's local midnight to the next Monday's."""
    return midnight(monday, zone), midnight(monday + WEEK, zone)


def week_view(shifts: Sequence[Shift], monday: date, zone: ZoneInfo) -> Week:
    """The week's shifts (covering it, gaps included) cut at each local midnight."""
    days = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        begin, end = midnight(day, zone), midnight(day + timedelta(days=1), zone)
        parts = [_segment(shift, begin, end, zone) for shift in shifts if shift.start < end and begin < shift.end]
        days.append(Day(day, tuple(parts)))
    return Week(monday, zone, tuple(days))


def _segment(shift: Shift, begin: datetime, end: datetime, zone: ZoneInfo) -> Segment:
    start, stop = max(shift.start, begin), min(shift.end, end)
    return Segment(shift, start.astimezone(zone), stop.astimezone(zone), shift.start < begin, shift.end > end)


def form_time(instant: datetime, zone: ZoneInfo) -> str:
    """An instant as a datetime-local value in the schedule's zone (to the minute)."""
    return wall_clock(instant, zone).strftime(FORM_TIME)


def parse_form_time(value: str, zone: ZoneInfo) -> datetime | None:
    """A datetime-local value (wall-clock time in `zone`, to the minute or second) as a UTC instant; None if not."""
    for shape in (FORM_TIME, f"{FORM_TIME}:%S"):
        try:
            wall = datetime.strptime(value.strip(), shape)  # noqa: DTZ007  (local wall-clock time: to_instant below)
        except ValueError:
            continue
        if FIRST_WEEK.year <= wall.year <= LAST_WEEK.year:
            return to_instant(wall, zone)
    return None


def local(instant: datetime | None, zone: ZoneInfo) -> str:
    """A readable local time ("Wed 24 Mar 2027 11:00"); "-" for none (beyond the resolver's horizon)."""
    return f"{instant.astimezone(zone):%a %d %b %Y %H:%M}" if instant is not None else "-"


def name_of(user: str | None, names: Mapping[str, str]) -> str:
    """The person's name with their id, "nobody" in a gap."""
    if user is None:
        return "nobody"
    name = names.get(user)
    return f"{name} ({user})" if name and name != user else user
