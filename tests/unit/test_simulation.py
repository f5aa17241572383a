"""The what-if simulation: people's history through the escalator's pure code on a clock the events drive."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

from incidentctl.whatif import render_json, render_text, simulate
from incidents_shared.domain import events as e
from incidents_shared.domain import payloads as p
from incidents_shared.domain.codec import canonical_bytes
from incidents_shared.domain.enums import ActorKind, EscalationReason, Level, Priority
from incidents_shared.domain.escalation.book import PolicyBook
from incidents_shared.domain.escalation.simulation import Simulator, history, simulate_incident
from incidents_shared.domain.escalation.timers import ACTOR
from incidents_shared.domain.record import Record
from incidents_shared.policy_file import load_policy_file, parse_policy

POLICIES = Path(__file__).resolve().parents[2] / "examples" / "policies"
FAST_TEXT = (POLICIES / "fast-demo.yaml").read_text()
FAST = load_policy_file(POLICIES / "fast-demo.yaml", {})
STRICT = parse_policy(
    FAST_TEXT.replace("id: fast-demo", "id: strict")
    .replace("acknowledge: 30m\n", "acknowledge: 3s\n")
    .replace("{after: 30m, level: 2, team: team-leads}", "{after: 2s, level: 2, team: team-leads}")
    .replace("acknowledge: 5s", "acknowledge: 2s"),
    "strict.yaml",
    {},
)
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
PERSON = e.Actor(id="carol", kind=ActorKind.USER, role="responder")
NS = UUID("0f5e8a4e-4a59-4c8c-9b7e-2d3b7d1f6a01")


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def event(cls: type[e.EventBase], incident: UUID, at: datetime, data: p.Payload | None = None, **extra: Any) -> Any:
    return cls.model_validate(
        {
            "event_id": uuid5(incident, f"{cls.__name__}:{at.isoformat()}"),
            "incident_id": incident,
            "occurred_at": at,
            "recorded_at": at,
            "actor": extra.pop("actor", PERSON),
            "correlation_id": "test",
            "data": data if data is not None else {},
            **extra,
        }
    )


def logged(incident: UUID, at: datetime, priority: Priority = Priority.P1) -> e.EventBase:
    urgency = Level.HIGH if priority is Priority.P1 else Level.MEDIUM
    data = p.LoggedData(
        title="Checkout down",
        service="checkout",
        reporter="carol",
        detected_at=at,
        impact=Level.HIGH,
        urgency=urgency,
        priority=priority,
    )
    return event(e.IncidentLogged, incident, at, data)  # type: ignore[no-any-return]


def acked(incident: UUID, at: datetime, **extra: Any) -> e.EventBase:
    return event(e.IncidentAcknowledged, incident, at, **extra)  # type: ignore[no-any-return]


def incident(n: int) -> UUID:
    return uuid5(NS, str(n))


def test_an_unacknowledged_p1_escalates_breaches_and_pages_up_to_the_end() -> None:
    i = incident(1)
    out = simulate_incident([logged(i, T0)], PolicyBook(FAST), s(12))
    assert out is not None
    assert (out.priority, out.escalations, out.escalation_levels) == ("P1", 3, (2, 3, 4))
    assert (out.ack_breaches, out.resolve_breaches, out.pages, out.time_to_responder_s) == (1, 0, 3, None)


def test_timers_due_before_an_event_fire_first_and_the_responder_was_reached_by_the_last_escalation() -> None:
    i = incident(2)
    out = simulate_incident([logged(i, T0), acked(i, s(9))], PolicyBook(FAST), s(60))
    assert out is not None
    assert out.escalation_levels == (2, 3) and out.ack_breaches == 1
    assert out.time_to_responder_s == 8.0, "reached by the level-3 page at 8 s, acknowledged at 9 s"


def test_a_timer_due_at_the_very_instant_of_an_event_fires_after_it() -> None:
    i = incident(3)
    out = simulate_incident([logged(i, T0), acked(i, s(4))], PolicyBook(FAST), s(60))
    assert out is not None
    assert out.escalations == 0 and out.time_to_responder_s == 4.0


def test_the_simulator_fires_in_due_order_with_the_due_time_as_the_clock() -> None:
    i = incident(4)
    sim = Simulator(PolicyBook(FAST))
    sim.append(logged(i, T0))
    fired = sim.advance(s(8))
    assert [ev.occurred_at for ev in fired] == sorted(ev.occurred_at for ev in fired)
    assert all(ev.recorded_at == ev.occurred_at for ev in fired)
    assert sim.advance(s(8)) == [], "fired timers are gone"


def test_history_keeps_what_people_did_as_the_log_accepted_it() -> None:
    i, poisoned = incident(5), incident(6)
    own = event(
        e.IncidentEscalated,
        i,
        s(4),
        p.EscalatedData(level=2, target_team="team-leads", reason=EscalationReason.ACK_SLA),
        actor=ACTOR,
    )
    records = [
        logged(i, T0),
        own,
        acked(i, s(6), expected_version=2),  # counted the real escalation
        acked(i, s(7)),  # rejected: already acknowledged
    ]
    log = [Record(0, n, str(ev.incident_id), canonical_bytes(ev)) for n, ev in enumerate(records)]
    log += [
        Record(1, 0, str(poisoned), b"{not json"),
        Record(1, 1, str(poisoned), canonical_bytes(logged(poisoned, T0))),
    ]
    kept = history(log)
    assert list(kept) == [i], "an incident behind a poison record is judged by nobody"
    assert [(type(ev), ev.occurred_at, ev.expected_version) for ev in kept[i]] == [
        (e.IncidentLogged, T0, None),
        (e.IncidentAcknowledged, s(6), None),
    ]


def histories() -> dict[UUID, list[e.EventBase]]:
    late, quick, open_p2, early = incident(10), incident(11), incident(12), incident(13)
    return {
        late: [logged(late, s(0)), acked(late, s(9))],
        quick: [logged(quick, s(100)), acked(quick, s(101))],
        open_p2: [logged(open_p2, s(200), Priority.P2)],
        early: [logged(early, s(-1000)), acked(early, s(-990))],
    }


def test_a_stricter_policy_escalates_and_pages_more_on_the_same_history() -> None:
    report = simulate(histories(), {"current": FAST, "candidate": STRICT}, None, s(300))
    current, candidate = report["total"]["current"], report["total"]["candidate"]
    assert candidate["escalations"] > current["escalations"] and candidate["pages"] > current["pages"]
    assert report["priorities"]["P2"]["current"]["escalations"] == 1, "the on-call at once (level 1)"
    assert report["priorities"]["P2"]["candidate"]["escalations"] == 2, "and the leads after 2 s"
    assert report["priorities"]["P2"]["candidate"]["unacknowledged"] == 1
    assert candidate["time_to_responder_s"]["count"] == 3


def test_since_selects_incidents_by_their_logged_time_and_until_defaults_to_the_last_event() -> None:
    report = simulate(histories(), {"current": FAST, "candidate": STRICT}, s(0), None)
    assert report["total"]["current"]["incidents"] == 3
    assert report["until"] == "2026-11-25T10:03:20.000000Z"


def test_the_report_is_deterministic() -> None:
    forward = histories()
    backward = dict(reversed(list(forward.items())))
    policies = {"current": FAST, "candidate": STRICT}
    first, second = simulate(forward, policies, None, s(300)), simulate(backward, policies, None, s(300))
    assert render_json(first) == render_json(second)
    assert render_text(first) == render_text(second)
    assert "P2" in render_text(first)


def test_an_empty_log_gives_an_empty_report() -> None:
    report = simulate({}, {"current": FAST, "candidate": STRICT}, None, None)
    assert report["priorities"] == {} and report["until"] is None
