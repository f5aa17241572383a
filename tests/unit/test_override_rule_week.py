"""The console's week of a schedule (console/oncall_week.py), pure: the week a `week=` value means, shifts cut at
the schedule's local midnights (a DST day is 23 hours), overrides and gaps named, and the take form's times read
back as the instants they show (docs/decisions/0085)."""

from datetime import UTC, date, datetime

import pytest

from command_api.console.oncall_week import (
    BadWeek,
    form_time,
    parse_form_time,
    parse_week,
    week_period,
    week_view,
)
from incidents_shared.domain.oncall import Schedule, shifts

TODAY = date(2026, 12, 2)  # a Wednesday
ROTA = Schedule.model_validate(
    {
        "id": "rota",
        "name": "Rota",
        "time_zone": "Europe/Amsterdam",
        "layers": [
            {
                "name": "primary",
                "start": "2026-01-05T00:00:00",
                "turn": "P1W",
                "users": ["bob"],
                "restrictions": [
                    {"kind": "weekly", "start_day": "mon", "start": "00:00", "end_day": "sat", "end": "00:00"}
                ],
            }
        ],
        "overrides": [{"user": "dan", "start": "2027-03-24T10:00:00Z", "end": "2027-03-24T14:00:00Z"}],
    }
)


def view(monday: date) -> list[list[tuple[str, str | None, str]]]:
    since, until = week_period(monday, ROTA.zone)
    week = week_view(shifts(ROTA, since, until), monday, ROTA.zone)
    return [[(s.span, s.shift.user, s.kind) for s in day.segments] for day in week.days]


def test_a_week_value_is_any_day_of_it_and_none_is_this_week() -> None:
    assert parse_week("2027-03-25", TODAY) == date(2027, 3, 22)
    assert parse_week("2027-03-22", TODAY) == date(2027, 3, 22)
    assert parse_week(None, TODAY) == parse_week("", TODAY) == date(2026, 11, 30)


@pytest.mark.parametrize("bad", ["2027-13-01", "2027-02-30", "2027-W12-4", "20270322", "1999-12-27", "٢٠٢٧-03-22"])
def test_a_bad_week_names_the_field(bad: str) -> None:
    with pytest.raises(BadWeek, match=r"^week: "):
        parse_week(bad, TODAY)


def test_the_week_is_cut_at_local_midnights_with_the_override_and_the_gaps_named() -> None:
    days = view(date(2027, 3, 22))
    assert days[0] == [("00:00–24:00", "bob", "layer")]
    assert days[2] == [
        ("00:00–11:00", "bob", "layer"),
        ("11:00–15:00", "dan", "override"),  # 10:00Z-14:00Z in CET
        ("15:00–24:00", "bob", "layer"),
    ]
    assert days[4] == [("00:00–24:00", "bob", "layer")]  # to Saturday's midnight, not "00:00-00:00"
    assert days[5] == days[6] == [("00:00–24:00", None, "gap")]


def test_a_dst_week_ends_at_the_local_midnight_after_the_23_hour_sunday() -> None:
    since, until = week_period(date(2027, 3, 22), ROTA.zone)
    assert (since, until) == (datetime(2027, 3, 21, 23, tzinfo=UTC), datetime(2027, 3, 28, 22, tzinfo=UTC))


def test_the_take_form_shows_local_times_that_read_back_as_the_same_instants() -> None:
    instant = datetime(2027, 3, 24, 10, tzinfo=UTC)
    assert form_time(instant, ROTA.zone) == "2027-03-24T11:00"
    assert parse_form_time("2027-03-24T11:00", ROTA.zone) == instant
    assert parse_form_time("2027-03-24T11:00:30", ROTA.zone) == instant.replace(second=30)
    assert parse_form_time("2027-03-28T02:30", ROTA.zone) == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)  # in the gap
    for bad in ("", "tomorrow", "2027-03-24", "2027-03-24T11:00Z", "0001-01-01T00:00"):
        assert parse_form_time(bad, ROTA.zone) is None
