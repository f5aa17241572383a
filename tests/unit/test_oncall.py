"""Who is on call at T: validation, DST hand-overs, overrides, gaps, iCalendar, and properties against an oracle."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar
from pydantic import ValidationError

from incidents_shared.domain.oncall import Schedule, gaps, oncall_at, shift_uid, shifts, to_ical
from tests.unit.oncall_oracle import Oracle

AMS, NYC = ZoneInfo("Europe/Amsterdam"), ZoneInfo("America/New_York")


def schedule(time_zone: str = "Europe/Amsterdam", **overrides: Any) -> Schedule:
    layer = {"name": "primary", "start": "2027-01-04T09:00", "turn": "P1D", "users": ["ann", "bob", "cid"]}
    body: dict[str, Any] = {"id": "ops", "name": "Ops", "time_zone": time_zone, "layers": [layer]}
    return Schedule.model_validate(body | overrides)


def local(zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=zone)


def error_locs(body: dict[str, Any]) -> list[tuple[str | int, ...]]:
    with pytest.raises(ValidationError) as caught:
        schedule(**body)
    return [tuple(error["loc"]) for error in caught.value.errors()]


# --- validation names the field ---------------------------------------------------------------------------------


def test_an_unknown_time_zone_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'") as caught:
        schedule("Mars/Olympus")
    assert caught.value.errors()[0]["loc"] == ("time_zone",)


def test_an_inverted_override_names_its_end() -> None:
    inverted = {"user": "ann", "start": "2027-01-05T10:00Z", "end": "2027-01-05T09:00Z"}
    assert error_locs({"overrides": [inverted]}) == [("overrides", 0, "end")]


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"users": []}, ("layers", 0, "users")),
        ({"turn": "PT0H"}, ("layers", 0, "turn")),
        ({"turn": "-P1D"}, ("layers", 0, "turn")),
        ({"turn": "P1DT2H"}, ("layers", 0, "turn")),
        ({"turn": "P1M"}, ("layers", 0, "turn")),
        ({"name": "override"}, ("layers", 0, "name")),
        ({"restrictions": [{"kind": "daily", "start": "09:00", "end": "09:00"}]}, ("layers", 0, "restrictions", 0)),
    ],
)
def test_a_bad_layer_names_the_field(change: dict[str, Any], loc: tuple[str | int, ...]) -> None:
    layer = {"name": "primary", "start": "2027-01-04T09:00", "turn": "P1D", "users": ["ann"]} | change
    assert all(found[: len(loc)] == loc for found in error_locs({"layers": [layer]}))


def test_layer_names_are_unique_and_models_are_strict() -> None:
    layer = {"name": "primary", "start": "2027-01-04T09:00", "turn": "P1D", "users": ["ann"]}
    assert error_locs({"layers": [layer, layer]}) == [("layers",)]
    assert error_locs({"colour": "red"}) == [("colour",)]


# --- daylight-saving changes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day"),
    [(AMS, (2027, 3, 28)), (AMS, (2027, 10, 31)), (NYC, (2027, 3, 14)), (NYC, (2027, 11, 7))],
)
def test_daily_hand_over_stays_at_nine_local_across_a_dst_change(zone: ZoneInfo, day: tuple[int, int, int]) -> None:
    sched = schedule(zone.key)
    the_day = local(zone, *day, 12)
    found = shifts(sched, the_day - timedelta(days=2), the_day + timedelta(days=2))
    handovers = [s.start.astimezone(zone) for s in found[1:]]
    assert [(h.hour, h.minute) for h in handovers] == [(9, 0)] * 4
    on_the_day = oncall_at(sched, the_day)
    assert on_the_day.since == local(zone, *day, 9) and on_the_day.until == local(zone, *day, 9) + timedelta(days=1)
    assert on_the_day.until is not None and on_the_day.since is not None
    hours = (on_the_day.until - on_the_day.since) / timedelta(hours=1)
    previous = oncall_at(sched, the_day - timedelta(days=1))
    assert previous.since is not None and previous.until is not None
    assert {hours, (previous.until - previous.since) / timedelta(hours=1)} in ({24, 23}, {24, 25})


def test_weekly_turns_keep_the_local_hand_over_too() -> None:
    sched = schedule(layers=[{"name": "week", "start": "2027-03-22T09:00", "turn": "P1W", "users": ["ann", "bob"]}])
    answer = oncall_at(sched, local(AMS, 2027, 3, 28, 12))  # the turn that holds the spring change
    assert (answer.user, answer.since, answer.until) == ("ann", local(AMS, 2027, 3, 22, 9), local(AMS, 2027, 3, 29, 9))


def test_hour_turns_are_exact_elapsed_time_across_a_dst_change() -> None:
    sched = schedule(layers=[{"name": "half", "start": "2027-03-27T21:00", "turn": "PT12H", "users": ["ann", "bob"]}])
    answer = oncall_at(sched, local(AMS, 2027, 3, 28, 11))
    assert answer.user == "bob" and answer.since == local(AMS, 2027, 3, 28, 10)  # 12 h after 21:00 CET is 10:00 CEST


def test_a_time_in_the_spring_gap_moves_forward_and_one_in_the_fold_is_the_first() -> None:
    sched = schedule(layers=[{"name": "night", "start": "2027-03-27T02:30", "turn": "P1D", "users": ["ann", "bob"]}])
    assert oncall_at(sched, local(AMS, 2027, 3, 28, 12)).since == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)  # 03:30
    fold = schedule(layers=[{"name": "night", "start": "2027-10-30T02:30", "turn": "P1D", "users": ["ann", "bob"]}])
    assert oncall_at(fold, local(AMS, 2027, 10, 31, 12)).since == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # CEST


# --- layers, overrides, restrictions, gaps ---------------------------------------------------------------------


def test_nobody_before_the_start_and_later_layers_win() -> None:
    second = {"name": "second", "start": "2027-02-01T09:00", "turn": "P1W", "users": ["zed"]}
    sched = schedule(layers=[schedule().layers[0].model_dump(), second])
    before = oncall_at(sched, local(AMS, 2027, 1, 1))
    assert (before.user, before.source, before.since, before.until) == (None, "gap", None, local(AMS, 2027, 1, 4, 9))
    later = oncall_at(sched, local(AMS, 2027, 6, 1))
    assert (later.user, later.source, later.since, later.until) == ("zed", "second", local(AMS, 2027, 2, 1, 9), None)


def test_an_override_wins_over_its_layer() -> None:
    cover = {"user": "dan", "start": "2027-01-05T12:00+01:00", "end": "2027-01-05T14:00+01:00"}
    sched = schedule(overrides=[cover])
    answer = oncall_at(sched, local(AMS, 2027, 1, 5, 13))
    assert (answer.user, answer.source, answer.since, answer.until) == (
        "dan",
        "override",
        local(AMS, 2027, 1, 5, 12),
        local(AMS, 2027, 1, 5, 14),
    )
    around = shifts(sched, local(AMS, 2027, 1, 5, 10), local(AMS, 2027, 1, 5, 16))
    assert [(s.user, s.source) for s in around] == [("bob", "primary"), ("dan", "override"), ("bob", "primary")]


def test_a_gap_between_restricted_hours_is_listed() -> None:
    office = {"kind": "daily", "start": "09:00", "end": "17:00"}
    sched = schedule(layers=[schedule().layers[0].model_dump() | {"restrictions": [office]}])
    found = gaps(sched, local(AMS, 2027, 1, 5, 12), local(AMS, 2027, 1, 6, 12))
    assert [(g.start, g.end, g.source) for g in found] == [
        (local(AMS, 2027, 1, 5, 17), local(AMS, 2027, 1, 6, 9), "gap")
    ]
    assert oncall_at(sched, local(AMS, 2027, 1, 5, 20)).user is None


def test_weekly_restrictions_cross_the_weekend_and_daily_ones_midnight() -> None:
    weekend = {"kind": "weekly", "start_day": "fri", "start": "17:00", "end_day": "mon", "end": "09:00"}
    nights = {"kind": "daily", "start": "22:00", "end": "06:00"}
    base = schedule().layers[0].model_dump()
    sched = schedule(layers=[base | {"name": "weekend", "restrictions": [weekend]}])
    answer = oncall_at(sched, local(AMS, 2027, 1, 9, 12))  # a Saturday
    assert answer.user is not None and answer.since == local(AMS, 2027, 1, 9, 9)
    assert oncall_at(sched, local(AMS, 2027, 1, 11, 10)).user is None  # Monday after 09:00
    night = schedule(layers=[base | {"restrictions": [nights]}])
    assert oncall_at(night, local(AMS, 2027, 1, 6, 5)).until == local(AMS, 2027, 1, 6, 6)


# --- iCalendar ---------------------------------------------------------------------------------------------------


def test_the_ical_feed_parses_back_with_the_same_shifts() -> None:
    office = {"kind": "daily", "start": "09:00", "end": "17:00"}
    cover = {"user": "dan", "start": "2027-03-27T12:00+01:00", "end": "2027-03-27T14:00+01:00"}
    sched = schedule(layers=[schedule().layers[0].model_dump() | {"restrictions": [office]}], overrides=[cover])
    start, end = local(AMS, 2027, 3, 26), local(AMS, 2027, 4, 2)
    parsed = Calendar.from_ical(to_ical(sched, start, end))
    events = [(e.decoded("dtstart"), e.decoded("dtend"), str(e["summary"])) for e in parsed.walk("VEVENT")]
    expected = [(s.start, s.end, f"On call: {s.user}") for s in shifts(sched, start, end) if s.user is not None]
    assert events == expected and len(events) == 9
    assert len({str(e["uid"]) for e in parsed.walk("VEVENT")}) == len(events)


def test_ical_uids_are_stable_when_the_window_moves() -> None:
    sched = schedule()
    early = Calendar.from_ical(to_ical(sched, local(AMS, 2027, 1, 5, 10), local(AMS, 2027, 1, 8)))
    later = Calendar.from_ical(to_ical(sched, local(AMS, 2027, 1, 5, 20), local(AMS, 2027, 1, 9)))
    first = next(iter(later.walk("VEVENT")))
    assert str(first["uid"]) == shift_uid("ops", "bob", local(AMS, 2027, 1, 5, 9))
    assert {str(e["uid"]) for e in early.walk("VEVENT")} <= {str(e["uid"]) for e in later.walk("VEVENT")}


# --- properties against the brute-force oracle ------------------------------------------------------------------

ZONES = ["Europe/Amsterdam", "America/New_York", "Australia/Lord_Howe", "UTC"]
EARLIEST, LATEST = datetime(2026, 1, 1, tzinfo=UTC), datetime(2028, 12, 31, tzinfo=UTC)
DST_CHANGES = [  # 2027's, in the zones above, as UTC instants
    datetime(2027, 3, 28, 1, tzinfo=UTC),
    datetime(2027, 10, 31, 1, tzinfo=UTC),
    datetime(2027, 3, 14, 7, tzinfo=UTC),
    datetime(2027, 11, 7, 6, tzinfo=UTC),
    datetime(2027, 4, 3, 15, tzinfo=UTC),
    datetime(2027, 10, 2, 15, 30, tzinfo=UTC),
]
minutes = st.integers(0, 23 * 60 + 59).map(lambda m: f"{m // 60:02d}:{m % 60:02d}")
quarters = st.integers(0, 24 * 4 - 1).map(lambda q: f"{q // 4:02d}:{q % 4 * 15:02d}")
small_hours = st.integers(0, 4 * 4 - 1).map(lambda q: f"{q // 4:02d}:{q % 4 * 15:02d}")  # where DST changes
wall_times = st.one_of(small_hours, quarters, minutes)
days = st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
daily = st.fixed_dictionaries({"kind": st.just("daily"), "start": wall_times, "end": wall_times}).filter(
    lambda r: r["start"] != r["end"]
)
weekly = st.fixed_dictionaries(
    {"kind": st.just("weekly"), "start_day": days, "start": wall_times, "end_day": days, "end": wall_times}
).filter(lambda r: (r["start_day"], r["start"]) != (r["end_day"], r["end"]))


@st.composite
def instants(draw: st.DrawFn) -> datetime:
    near_dst = st.sampled_from(DST_CHANGES).flatmap(
        lambda change: st.integers(-3 * 24 * 60, 3 * 24 * 60).map(lambda m: change + timedelta(minutes=m))
    )
    anywhere = st.integers(0, int((LATEST - EARLIEST) / timedelta(minutes=1))).map(
        lambda m: EARLIEST + timedelta(minutes=m)
    )
    return draw(st.one_of(near_dst, anywhere))


@st.composite
def layers(draw: st.DrawFn, index: int) -> dict[str, Any]:
    start = draw(instants()) - timedelta(days=draw(st.integers(0, 400)))
    naive = f"{start.date().isoformat()}T{draw(wall_times)}"  # a local wall-clock time in the schedule's zone
    return {
        "name": f"layer-{index}",
        "start": draw(st.sampled_from([naive, start.isoformat()])),
        "turn": draw(st.sampled_from(["P1D", "P1W", "PT8H", "PT12H"])),
        "users": draw(st.lists(st.sampled_from(["ann", "bob", "cid", "dan", "eve"]), min_size=1, max_size=5)),
        "restrictions": draw(st.lists(st.one_of(daily, weekly), max_size=2)),
    }


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    count = draw(st.integers(1, 3))
    overrides = []
    for _ in range(draw(st.integers(0, 3))):
        start = draw(instants())
        end = start + timedelta(minutes=draw(st.integers(1, 10 * 24 * 60)))
        overrides.append({"user": draw(st.sampled_from(["ann", "zed"])), "start": start, "end": end})
    return Schedule.model_validate(
        {
            "id": "s",
            "name": "S",
            "time_zone": draw(st.sampled_from(ZONES)),
            "layers": [draw(layers(i)) for i in range(count)],
            "overrides": overrides,
        }
    )


HORIZON = timedelta(days=30)


@settings(max_examples=100, deadline=None)
@given(schedules(), instants(), st.data())
def test_oncall_at_agrees_with_the_oracle(sched: Schedule, at: datetime, data: st.DataObject) -> None:
    oracle = Oracle(sched, LATEST + timedelta(days=60))
    answer = oncall_at(sched, at, horizon=HORIZON)
    expected = oracle.who(at)
    assert (answer.user, answer.source) == expected
    if answer.since is not None:
        assert at - HORIZON <= answer.since <= at
        assert oracle.who(answer.since) == expected and oracle.who(answer.since - timedelta(minutes=1)) != expected
    if answer.until is not None:
        assert at < answer.until <= at + HORIZON
        assert oracle.who(answer.until - timedelta(minutes=1)) == expected and oracle.who(answer.until) != expected
    low, high = answer.since or at - HORIZON, answer.until or at + HORIZON
    probe = data.draw(st.integers(0, int((high - low) / timedelta(minutes=1)) - 1))
    assert oracle.who(low + timedelta(minutes=probe)) == expected


@settings(max_examples=100, deadline=None)
@given(schedules(), instants(), st.integers(1, 20 * 24 * 60))
def test_shifts_are_contiguous_and_agree_with_oncall_at(sched: Schedule, start: datetime, length: int) -> None:
    end = start + timedelta(minutes=length)
    found = shifts(sched, start, end)
    assert found[0].start == start and found[-1].end == end
    assert all(a.end == b.start and (a.user, a.source) != (b.user, b.source) for a, b in pairwise(found))
    for i, shift in enumerate(found):
        assert shift.start < shift.end
        first, last = oncall_at(sched, shift.start), oncall_at(sched, shift.end - timedelta(microseconds=1))
        assert (first.user, first.source) == (last.user, last.source) == (shift.user, shift.source)
        assert i == 0 or first.since == shift.start
        assert i == len(found) - 1 or last.until == shift.end
    assert [g for g in found if g.user is None] == gaps(sched, start, end)


@settings(max_examples=15, deadline=None)
@given(schedules(), st.sampled_from(DST_CHANGES))
def test_shifts_match_the_oracle_minute_by_minute_around_a_dst_change(sched: Schedule, change: datetime) -> None:
    start, end = change - timedelta(hours=30), change + timedelta(hours=30)
    expected = Oracle(sched, end + timedelta(days=1)).timeline(start, end)
    assert [(s.start, s.user, s.source) for s in shifts(sched, start, end)] == expected
