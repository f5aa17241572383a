"""The paging benchmark's pure parts: the directory it creates, what it computes from the stamps it collects, how
the receiver reads a page, and how a run of some suites only is reported (bench/paging*.py, bench/report.py)."""

from datetime import UTC, datetime, timedelta

import pytest

from bench import report
from bench.paging_load import LATER, Directory
from bench.paging_observe import LogWatch, Seen, latencies, rate, timeline
from bench.paging_receiver import page_of
from incidents_shared.domain.directory.model import Service, Team, User
from incidents_shared.domain.oncall import Schedule, oncall_at

NOW = datetime(2027, 3, 28, 1, 30, tzinfo=UTC)  # the night Europe's clocks go forward, for good measure


def test_the_directory_validates_and_puts_a_member_of_every_team_on_call_for_the_whole_run() -> None:
    [(_, users), (_, schedules), (_, teams), (_, services)] = Directory(3, 4, 2).documents("http://h:1", NOW)
    members = {u["id"]: User.model_validate(u) for u in users}
    assert all(len(user.contact_methods) == 2 for user in members.values())
    assert all(str(u.contact_methods[1].delay) == "0:15:00" for u in members.values()), f"second one {LATER} later"
    for body in schedules:
        schedule = Schedule.model_validate(body)
        for at in (NOW, NOW + timedelta(hours=2)):
            assert oncall_at(schedule, at).user in schedule.layers[0].users
    assert [Team.model_validate(t).schedule for t in teams] == [s["id"] for s in schedules]
    assert len([Service.model_validate(s) for s in services]) == 6 == len(Directory(3, 4, 2).service_ids())


def test_rate_counts_over_the_span_and_leaves_out_the_partial_seconds_at_both_ends() -> None:
    stamps = [100.5] + [101.0 + k / 10 for k in range(30)] + [104.2]  # 10 per whole second in 101-103
    figures = rate(stamps)
    assert figures["span_s"] == pytest.approx(3.7)
    assert figures["per_s"] == pytest.approx(32 / 3.7, abs=0.1)
    assert (figures["median_1s"], figures["peak_1s"]) == (10.0, 10.0)


def _watch(logged: dict[str, float], paged: dict[str, float]) -> LogWatch:
    watch = LogWatch("kafka:9092", "topic", 1)
    watch.logged = {i: Seen(s, s + 0.01) for i, s in logged.items()}
    watch.paged = {i: Seen(s, s + 0.01) for i, s in paged.items()}
    return watch


def test_latencies_count_an_incident_never_paged_or_delivered_as_waiting_until_the_run_gave_up() -> None:
    watch = _watch({"a": 10.0, "b": 11.0}, {"a": 10.5})
    figures = latencies(watch, {"a": 12.0}, gave_up=20.0)
    assert figures["logged_to_paged_ms"]["max"] == 9000.0  # b: 11.0 -> gave up at 20.0
    assert figures["logged_to_paged_ms"]["p50"] == 500.0
    assert figures["logged_to_delivered_ms"]["p50"] == 2000.0
    assert (figures["not_paged"], figures["not_delivered"]) == (1, 1)
    assert figures["logged_to_paged_ms_as_read"]["count"] == 1


def test_timeline_counts_per_second_from_the_start() -> None:
    watch = _watch({"a": 100.2, "b": 100.9, "c": 102.1}, {"a": 101.0})
    assert timeline(100.0, watch, {"a": 103.5}) == {"logged": [2, 0, 1], "paged": [0, 1], "delivered": [0, 0, 0, 1]}


def test_the_receiver_reads_incident_and_contact_index_and_survives_anything_else() -> None:
    assert page_of(b'{"incident_id": "i-1", "contact": {"index": 1}}') == ("i-1", 1)
    assert page_of(b'{"text": "a slack page"}') == (None, None)
    assert page_of(b"not json") == (None, None)
    assert page_of(b"[1, 2]") == (None, None)


def test_a_run_of_some_suites_shows_their_rows_and_the_paging_cpu_table_only() -> None:
    cpu = {"cores": {"machine": 1.8}, "ms_per_request": {"escalator": 5.5, "machine": 14.0}}
    run = {"cpu": cpu, "logged_rate": {"per_s": 999.0}}
    results = {
        "oncall_lookup_median_us": 146.2,
        "paging_pages_per_s": 250.0,
        "paging_pending_timers": 50,
        "paging_timers_as_armed": True,
        "paging": {"api": run, "log": run},
    }
    machine = {"cpus": 2, "cpu": "x", "memory_gib": 1.0, "python": "3.11", "commit": "abc"}
    text = report.table({"machine": machine, "when": "t", "results": results, "suites": ["oncall", "paging"]})
    assert "`oncall_lookup_median_us` | 146.2" in text
    assert "`paging_pages_per_s` | 250.0 | pages/s | >= 1000 | **misses**" in text
    assert "| holds |" in text  # the pending timers: as armed
    assert "kafka_raw_eps" not in text and "suites oncall, paging" in text
    assert "| api | 999 |" in text and "| log | 999 |" in text
