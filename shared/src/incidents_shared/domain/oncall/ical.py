"""The shifts of a period as an RFC 5545 calendar people can subscribe to (one VEVENT per shift, gaps left out)."""

import uuid
from datetime import datetime

from icalendar import Calendar, Event

from incidents_shared.domain.oncall.model import Schedule
from incidents_shared.domain.oncall.resolve import Shift, oncall_at, shifts
from incidents_shared.domain.timeutil import format_utc, to_utc

PRODID = "-//incidents//on-call schedules//EN"
_UID_NAMESPACE = uuid.UUID("6f1c3e0a-4b1e-5d6a-9a53-0c2f7f3e8b21")


def shift_uid(schedule_id: str, user: str, start: datetime) -> str:
    """Stable per (schedule, user, shift start): a calendar client sees a refreshed shift as the same event."""
    name = "\x1f".join((schedule_id, user, format_utc(start)))
    return f"{uuid.uuid5(_UID_NAMESPACE, name)}@oncall"


def _event(schedule: Schedule, shift: Shift, true_start: datetime, stamp: datetime) -> Event:
    assert shift.user is not None
    event = Event()
    event.add("uid", shift_uid(schedule.id, shift.user, true_start))
    event.add("dtstamp", stamp)
    event.add("dtstart", shift.start)
    event.add("dtend", shift.end)
    event.add("summary", f"On call: {shift.user}")
    event.add("description", f"{schedule.name}: {shift.user} on call ({shift.source})")
    event.add("categories", [shift.source])
    return event


def to_ical(schedule: Schedule, start: datetime, end: datetime, stamp: datetime | None = None) -> bytes:
    """The VCALENDAR of the shifts of [start, end); `stamp` (DTSTAMP, default `start`) is when it was made.

    A shift cut by `start` keeps the UID of its whole shift, so moving the window changes no event's UID.
    """
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", schedule.name)
    calendar.add("x-wr-timezone", schedule.time_zone)
    made = to_utc(stamp or start)
    for i, shift in enumerate(shifts(schedule, start, end)):
        if shift.user is not None:
            since = oncall_at(schedule, shift.start).since if i == 0 else shift.start
            calendar.add_component(_event(schedule, shift, since or shift.start, made))
    feed: bytes = calendar.to_ical()
    return feed
