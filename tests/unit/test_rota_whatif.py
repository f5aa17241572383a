"""The rota what-if on a hand-made history: who would be paged, at night in their own time zone, and where a
candidate rota leaves nobody on call, under the current directory and a candidate one."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4, uuid5

import pytest

from incidentctl.directory_file import parse_yaml
from incidentctl.rota_whatif import CandidateRefused, Night, Side, candidate_directory, render_text, simulate_rotas
from incidentctl.whatif import render_json
from incidents_shared.domain import directory as d
from incidents_shared.domain import events as e
from incidents_shared.domain import payloads as p
from incidents_shared.domain.enums import ActorKind, Level, Priority, Role
from incidents_shared.domain.escalation.policy import Policy
from incidents_shared.domain.oncall import Layer, Schedule

# January 2027: Amsterdam is UTC+1, New York UTC-5.
T0 = datetime(2027, 1, 12, 9, 0, tzinfo=UTC)  # 10:00 in Amsterdam, 04:00 in New York
UNTIL = datetime(2027, 1, 13, 12, 0, tzinfo=UTC)
NS = UUID("3c0f3e59-9c61-4d5e-8d9e-8f3a6c1b2a77")
ADMIN = e.Actor(id="admin", kind=ActorKind.USER, role="admin")
MANAGER = e.Actor(id="mia", kind=ActorKind.USER, role="manager")
NIGHT = Night.parse("22:00-07:00")
POLICY = Policy.model_validate(
    {
        "id": "paging",
        "version": 1,
        "channels": {"leads-hook": {"kind": "webhook", "url": "http://127.0.0.1:9/leads"}},
        "teams": {"leads": {"channels": ["leads-hook"]}},
        "priorities": {
            "P2": {
                "acknowledge": "30m",
                "resolve": "8h",
                "steps": [{"after": "0s", "level": 1}, {"after": "30m", "level": 2, "team": "leads"}],
            }
        },
    }
)


def user(uid: str, zone: str, *methods: tuple[str, str]) -> d.User:
    contacts = [d.ContactMethod(kind="webhook", address=address, delay=delay) for address, delay in methods]
    return d.User(id=uid, name=uid.title(), email=f"{uid}@example.com", time_zone=zone, role=Role.RESPONDER,
                  contact_methods=contacts)  # fmt: skip


ANN = user("ann", "Europe/Amsterdam", ("http://127.0.0.1:9/ann", "0"), ("http://127.0.0.1:9/ann-later", "5m"))
BOB = user("bob", "America/New_York", ("http://127.0.0.1:9/bob", "0"))
ROTA = Schedule(
    id="payments-oncall",
    name="Payments on call",
    time_zone="Europe/Amsterdam",
    layers=[Layer(name="weekly", start=datetime(2027, 1, 4, 9, 0), turn="P1W", users=["ann"])],
)


SPARE = Schedule(
    id="spare-oncall",
    name="Spare",
    time_zone="UTC",
    layers=[Layer(name="daily", start=datetime(2027, 1, 1, 9, 0), turn="P1D", users=["bob"])],
)


def current_directory() -> d.DirectoryState:
    """Ann is on call around the clock for the team that owns checkout; Bob only on a schedule no team uses."""
    state = d.DirectoryState()
    team = d.Team(id="payments", name="Payments", members=["ann", "bob"], schedule="payments-oncall")
    for command in (
        d.CreateUser(user=ANN),
        d.CreateUser(user=BOB),
        d.CreateSchedule(schedule=ROTA),
        d.CreateSchedule(schedule=SPARE),
        d.CreateTeam(team=team),
        d.CreateService(service=d.Service(id="checkout", name="Checkout", owner_team="payments")),
    ):
        meta = d.DirectoryMeta(command_id=uuid4(), actor=ADMIN, now=T0, correlation_id="test")
        for event in d.decide(state, command, meta):
            state = d.evolve(state, event)
    return state


# Only the schedule: the rest of the directory stays as it is (as `directory apply` without --prune).
NIGHTS_TO_BOB = """
schedules:
  - id: payments-oncall
    name: Payments on call
    time_zone: Europe/Amsterdam
    layers:
      - {name: weekly, start: 2027-01-04T09:00:00, turn: P1W, users: [ann]}
      - name: nights
        start: 2027-01-04T22:00:00
        turn: P1W
        users: [bob]
        restrictions: [{kind: daily, start: "22:00", end: "07:00"}]
"""
DAYS_ONLY = """
schedules:
  - id: payments-oncall
    name: Payments on call
    time_zone: Europe/Amsterdam
    layers:
      - name: weekly
        start: 2027-01-04T09:00:00
        turn: P1W
        users: [ann]
        restrictions: [{kind: daily, start: "07:00", end: "22:00"}]
"""


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def event(cls: type[e.EventBase], incident: UUID, when: datetime, data: Any = None) -> e.EventBase:
    return cls.model_validate(
        {
            "event_id": uuid5(incident, f"{cls.__name__}-{when.isoformat()}"),
            "incident_id": incident,
            "occurred_at": when,
            "recorded_at": when,
            "actor": MANAGER,
            "correlation_id": "test",
            "data": data if data is not None else {},
        }
    )


def incident(n: int, logged_at: datetime, acked_after: timedelta) -> tuple[UUID, list[e.EventBase]]:
    """A P2 of checkout, acknowledged `acked_after` its logging."""
    ident = uuid5(NS, str(n))
    data = p.LoggedData(title=f"Card payments fail {n}", service="checkout", reporter="carol", detected_at=logged_at,
                        impact=Level.HIGH, urgency=Level.MEDIUM, priority=Priority.P2)  # fmt: skip
    return ident, [event(e.IncidentLogged, ident, logged_at, data),
                   event(e.IncidentAcknowledged, ident, logged_at + acked_after)]  # fmt: skip


# A at 10:00 Amsterdam (day), B at 23:00 (night; 17:00 in New York), C at 03:00 (night; 21:00 in New York),
# C acknowledged only after 10 minutes: the second contact method (5 minutes) goes out too.
HISTORY = dict(
    [
        incident(1, at(0), timedelta(minutes=1)),
        incident(2, at(13), timedelta(minutes=1)),
        incident(3, at(17), timedelta(minutes=10)),
    ]
)


def report(candidate_yaml: str, night: Night = NIGHT) -> dict[str, Any]:
    current = current_directory()
    candidate = candidate_directory(current, parse_yaml(candidate_yaml), prune=False, now=T0)
    sides = {
        "current": Side(POLICY, current, "the directory at the end of the log"),
        "candidate": Side(POLICY, candidate, "candidate.yaml over it"),
    }
    return simulate_rotas(HISTORY, sides, None, UNTIL, night)


def numbers(rep: dict[str, Any], person: str, side: str) -> tuple[int, int, int]:
    row = rep["people"][person][side]
    return row["pages"], row["night_pages"], row["incidents"]


def test_moving_nights_to_someone_in_new_york_moves_the_night_pages_off_amsterdam() -> None:
    rep = report(NIGHTS_TO_BOB)
    assert numbers(rep, "ann", "current") == (4, 3, 3), "every page, one per contact method; B and C at night"
    assert numbers(rep, "bob", "current") == (0, 0, 0)
    assert numbers(rep, "ann", "candidate") == (1, 0, 1), "only A, by day"
    assert numbers(rep, "bob", "candidate") == (2, 0, 2), "23:00 and 03:00 in Amsterdam are 17:00 and 21:00 for Bob"
    assert rep["people"]["bob"]["candidate"]["time_zone"] == "America/New_York"
    assert rep["schedules"]["payments-oncall"]["candidate"] == {
        "gaps": [], "gap_count": 0, "gap_s": 0, "fell_through": 0,
    }  # fmt: skip
    assert rep["total"]["current"]["incidents"] == rep["total"]["candidate"]["incidents"] == 3


def test_night_is_an_option_read_in_each_persons_own_zone() -> None:
    rep = report(NIGHTS_TO_BOB, Night.parse("20:00-07:00"))
    assert numbers(rep, "bob", "candidate") == (2, 1, 2), "21:00 in New York is night from 20:00"
    day_shift = report(NIGHTS_TO_BOB, Night.parse("09:00-11:00"))
    assert numbers(day_shift, "ann", "current")[1] == 1, "a window that does not cross midnight: A at 10:00"


def test_a_candidate_with_a_gap_shows_the_gap_and_the_escalations_that_fell_through() -> None:
    rep = report(DAYS_ONLY)
    schedule = rep["schedules"]["payments-oncall"]
    assert schedule["changed"] and not rep["schedules"]["spare-oncall"]["changed"]
    assert schedule["current"] == {"gaps": [], "gap_count": 0, "gap_s": 0, "fell_through": 0}
    gap = {"start": "2027-01-12T21:00:00.000000Z", "end": "2027-01-13T06:00:00.000000Z", "duration_s": 9 * 3600.0}
    assert schedule["candidate"] == {"gaps": [gap], "gap_count": 1, "gap_s": 9 * 3600.0, "fell_through": 2}
    assert numbers(rep, "ann", "candidate") == (1, 0, 1), "B and C reached nobody in person"
    assert rep["total"]["candidate"]["escalations"] == rep["total"]["current"]["escalations"] + 2, (
        "each fell through to level 2 at once"
    )
    assert rep["span"] == {"from": "2027-01-12T09:00:00.000000Z", "until": "2027-01-13T12:00:00.000000Z"}


def test_the_text_report_shows_both_sides_per_person_and_per_schedule() -> None:
    text = render_text(report(DAYS_ONLY))
    assert "current   directory: the directory at the end of the log" in text
    assert "night is 22:00-07:00 in each person's own time zone" in text
    [ann] = [line for line in text.splitlines() if line.strip().startswith("ann (Europe/Amsterdam)")]
    assert ann.split()[2:11] == ["4", "1", "-3", "3", "0", "-3", "3", "1", "-2"]
    [rota] = [line for line in text.splitlines() if line.strip().startswith("payments-oncall")]
    assert rota.split()[1:] == ["0", "1", "+1", "0s", "9h", "+9h", "0", "2", "+2"]
    assert "spare-oncall" not in text and "1 other schedule(s): unchanged, no gaps" in text
    assert "gap candidate payments-oncall: 2027-01-12T21:00:00.000000Z - 2027-01-13T06:00:00.000000Z (9h)" in text


def test_the_same_history_and_directories_give_the_same_report_byte_for_byte() -> None:
    first = render_json(report(NIGHTS_TO_BOB))
    assert first == render_json(report(NIGHTS_TO_BOB))
    assert json.loads(first)["night"] == "22:00-07:00"


def test_the_candidate_is_what_directory_apply_would_leave_and_a_refused_one_is_refused() -> None:
    current = current_directory()
    overlaid = candidate_directory(current, parse_yaml(NIGHTS_TO_BOB), prune=False, now=T0)
    assert set(overlaid.users) == {"ann", "bob"} and "checkout" in overlaid.services, "the rest is kept"
    assert [layer.name for layer in overlaid.schedules["payments-oncall"].layers] == ["weekly", "nights"]
    with pytest.raises(CandidateRefused) as refused:
        candidate_directory(current, parse_yaml(NIGHTS_TO_BOB.replace("[bob]", "[zed]")), prune=False, now=T0)
    assert refused.value.path.startswith("schedules.0.layers.1.users") and "zed" in refused.value.message
    with pytest.raises(CandidateRefused):
        candidate_directory(current, parse_yaml(NIGHTS_TO_BOB), prune=True, now=T0)  # would delete ann and bob


@pytest.mark.parametrize("text", ["22-07", "25:00-07:00", "22:00-22:00", "22:00"])
def test_a_night_that_is_not_hh_mm_hh_mm_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"HH:MM-HH:MM|empty"):
        Night.parse(text)
