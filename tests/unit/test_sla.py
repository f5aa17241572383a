"""SLA arithmetic: 24x7 and business hours, across weekends and DST changes."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from incidents_shared.domain.sla import BusinessHours, add_time, elapsed, parse_duration, shift_for_pause

AMS = ZoneInfo("Europe/Amsterdam")
OFFICE = BusinessHours("Europe/Amsterdam", frozenset(range(5)), time(9), time(17))


def ams(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=AMS)


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("15m", 900), ("4h", 14400), ("2d", 172800), ("0.5m", 30)])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["15", "m", "15 minutes", "-3m", ""])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def test_around_the_clock_is_plain_addition() -> None:
    start = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert add_time(start, timedelta(hours=4), None) == start + timedelta(hours=4)


def test_friday_afternoon_rolls_over_the_weekend() -> None:
    # Friday 16:00, 2 business hours: 1 h on Friday, 1 h on Monday.
    assert add_time(ams(2026, 11, 27, 16, 0), timedelta(hours=2), OFFICE) == ams(2026, 11, 30, 10, 0)


def test_a_start_outside_hours_waits_for_the_next_opening() -> None:
    assert add_time(ams(2026, 11, 28, 12, 0), timedelta(minutes=30), OFFICE) == ams(2026, 11, 30, 9, 30)
    assert add_time(ams(2026, 11, 26, 20, 0), timedelta(minutes=30), OFFICE) == ams(2026, 11, 27, 9, 30)


def test_office_hours_follow_local_time_across_the_spring_dst_change() -> None:
    # Friday 27 March 2026 16:30 CET (UTC+1) + 1 h -> Monday 30 March 09:30 CEST (UTC+2) = 07:30 UTC.
    due = add_time(ams(2026, 3, 27, 16, 30), timedelta(hours=1), OFFICE)
    assert due == datetime(2026, 3, 30, 7, 30, tzinfo=UTC)


def test_a_window_that_contains_the_skipped_hour_is_an_hour_shorter() -> None:
    night = BusinessHours("Europe/Amsterdam", frozenset(range(7)), time(1), time(4))
    # Sunday 29 March 2026: clocks jump 02:00 -> 03:00, so 01:00-04:00 local holds only 2 real hours.
    assert elapsed(ams(2026, 3, 29, 0, 0), ams(2026, 3, 29, 5, 0), night) == timedelta(hours=2)
    assert elapsed(ams(2026, 3, 28, 0, 0), ams(2026, 3, 28, 5, 0), night) == timedelta(hours=3)
    assert add_time(ams(2026, 3, 29, 1, 0), timedelta(hours=2, minutes=30), night) == ams(2026, 3, 30, 1, 30)


def test_autumn_dst_change_adds_the_repeated_hour() -> None:
    night = BusinessHours("Europe/Amsterdam", frozenset(range(7)), time(1), time(4))
    # Sunday 25 October 2026: 03:00 -> 02:00, so 01:00-04:00 local holds 4 real hours.
    assert elapsed(ams(2026, 10, 25, 0, 0), ams(2026, 10, 25, 6, 0), night) == timedelta(hours=4)


def test_elapsed_and_add_agree() -> None:
    start = ams(2026, 11, 25, 10, 15)
    for hours in (1, 7, 8, 13, 40):
        due = add_time(start, timedelta(hours=hours), OFFICE)
        assert elapsed(start, due, OFFICE) == timedelta(hours=hours)


def test_a_pause_adds_the_paused_time_around_the_clock() -> None:
    due = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    paused, resumed = datetime(2026, 1, 1, 10, 0, tzinfo=UTC), datetime(2026, 1, 1, 10, 45, tzinfo=UTC)
    assert shift_for_pause(due, paused, resumed, None) == due + timedelta(minutes=45)


def test_a_pause_in_business_hours_counts_only_business_time() -> None:
    # Paused Friday 16:00 with 2 business hours left, resumed Monday 09:00: due Monday 11:00.
    due = add_time(ams(2026, 11, 27, 16, 0), timedelta(hours=2), OFFICE)
    assert shift_for_pause(due, ams(2026, 11, 27, 16, 0), ams(2026, 11, 30, 9, 0), OFFICE) == ams(2026, 11, 30, 11, 0)


def test_a_pause_after_the_due_time_changes_nothing() -> None:
    due = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    later = datetime(2026, 1, 1, 13, 0, tzinfo=UTC)
    assert shift_for_pause(due, later, later + timedelta(hours=1), None) == due
