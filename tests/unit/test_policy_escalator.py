"""The escalator's logic in memory, time driven by the test: timers, the fold's verdicts, notifications."""

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from escalator.clock import SystemClock
from escalator.firing import TimerLoop
from escalator.ownership import Ownership
from escalator.sender import Sender
from incidents_shared.appender import LogUnavailable
from incidents_shared.domain import events as e
from incidents_shared.domain import payloads as p
from incidents_shared.domain.enums import ActorKind, EscalationReason, HoldReason, Level, Priority, SlaTarget
from incidents_shared.domain.escalation.book import PolicyBook
from incidents_shared.domain.escalation.fold import fold_batch
from incidents_shared.domain.escalation.people import People
from incidents_shared.domain.escalation.simulation import Simulator
from incidents_shared.domain.escalation.timers import build_event
from incidents_shared.domain.record import Record
from incidents_shared.domain.walk import decode_records
from incidents_shared.policy_file import load_policy_file, parse_policy

FAST = load_policy_file(Path(__file__).resolve().parents[2] / "examples" / "policies" / "fast-demo.yaml", {})
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
PERSON = e.Actor(id="carol", kind=ActorKind.USER, role="responder")


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class Escalator(Simulator):
    """The escalator's fold and timers without I/O (domain.escalation.simulation), plus one incident's commands."""

    def __init__(self, book: PolicyBook) -> None:
        super().__init__(book)
        self.incident = uuid4()

    def command(self, cls: type[e.EventBase], at: datetime, data: p.Payload | None = None) -> e.EventBase:
        event = cls.model_validate(
            {
                "event_id": uuid4(),
                "incident_id": self.incident,
                "occurred_at": at,
                "recorded_at": at,
                "actor": PERSON,
                "correlation_id": "test",
                "data": data if data is not None else {},
            }
        )
        self.append(event)
        return event

    def log_p1(self, **fields: Any) -> None:
        data = p.LoggedData(
            title="Checkout down",
            service="checkout",
            reporter="carol",
            detected_at=T0,
            impact=Level.HIGH,
            urgency=Level.HIGH,
            priority=Priority.P1,
            **fields,
        )
        self.command(e.IncidentLogged, T0, data)

    def accepted_of(self, cls: type[e.EventBase]) -> list[Any]:
        return [ev for ev in self.accepted if isinstance(ev, cls)]


def test_an_unacknowledged_p1_escalates_on_schedule_and_breaches() -> None:
    esc = Escalator(PolicyBook(FAST))
    esc.log_p1()
    esc.advance(s(0.1))
    [targets] = esc.accepted_of(e.SlaTargetsSet)
    assert (targets.data.ack_due_at, targets.data.policy_id, targets.data.policy_version) == (s(5), "fast-demo", 3)

    assert esc.advance(s(3.9)) == []
    steps = [
        (t, [ev.data.level for ev in esc.advance(s(t)) if isinstance(ev, e.IncidentEscalated)]) for t in (4, 8, 12)
    ]
    assert steps == [(4, [2]), (8, [3]), (12, [4])]
    assert [(b.data.target, b.data.due_at) for b in esc.accepted_of(e.SlaBreached)] == [(SlaTarget.ACKNOWLEDGE, s(5))]
    assert [(d.channel, d.target) for d in esc.deliveries] == [
        ("leads", "team-leads"),
        ("heads", "head-of-operations"),
        ("heads", "head-of-operations"),
    ]
    assert esc.advance(s(25)) == [], "the chain ends after the repeats"


def test_an_acknowledgement_stops_the_chain() -> None:
    esc = Escalator(PolicyBook(FAST))
    esc.log_p1()
    esc.advance(s(4))
    esc.command(e.IncidentAcknowledged, s(4.5))
    esc.advance(s(29))
    assert [ev.data.level for ev in esc.accepted_of(e.IncidentEscalated)] == [2]
    assert esc.accepted_of(e.SlaBreached) == []
    assert [d.target for d in esc.deliveries] == ["team-leads"]


def test_the_major_incident_rule_declares_and_pages_the_incident_managers() -> None:
    esc = Escalator(PolicyBook(FAST))
    esc.log_p1()
    esc.command(e.IncidentAcknowledged, s(1))
    assert not [ev for ev in esc.advance(s(29.9)) if isinstance(ev, e.MajorDeclared)]
    [major] = [ev for ev in esc.advance(s(30)) if isinstance(ev, e.MajorDeclared)]
    assert esc.known.states[esc.incident].major
    assert [(d.channel, d.target, d.about_event_id) for d in esc.deliveries] == [
        ("managers", "incident-managers", major.event_id)
    ]


def test_an_escalation_that_lands_after_the_ack_is_rejected_and_pages_nobody() -> None:
    esc = Escalator(PolicyBook(FAST))
    esc.log_p1()
    esc.advance(s(0.1))
    step = next(t for t in esc.timers.values() if t.step == 2)
    late = build_event(step, esc.known.states[esc.incident], esc.book, People(), s(4))  # fired, still in flight
    esc.command(e.IncidentAcknowledged, s(3.99))  # ...but the ack reached the log first
    esc.append(late)
    assert esc.accepted_of(e.IncidentEscalated) == [] and esc.deliveries == []


def test_a_re_emitted_timer_event_is_a_duplicate_and_pages_once() -> None:
    esc = Escalator(PolicyBook(FAST))
    esc.log_p1()
    [escalation] = [ev for ev in esc.advance(s(4)) if isinstance(ev, e.IncidentEscalated)]
    esc.append(escalation)  # the retry after a crash between Kafka's ack and the commit
    assert len(esc.accepted_of(e.IncidentEscalated)) == 1 and len(esc.deliveries) == 1


def test_timer_event_ids_are_deterministic() -> None:
    first, second = Escalator(PolicyBook(FAST)), Escalator(PolicyBook(FAST))
    second.incident = first.incident
    for esc in (first, second):
        esc.log_p1()
    a = [ev.event_id for ev in first.advance(s(8)) if isinstance(ev, e.IncidentEscalated)]
    b = [ev.event_id for ev in second.advance(s(8.5)) if isinstance(ev, e.IncidentEscalated)]
    assert a == b and len(a) == 2, "uuid5(incident, rule, step, due): the same whenever it fires"


def test_on_hold_pauses_the_resolve_clock() -> None:
    esc = Escalator(PolicyBook(FAST))
    esc.log_p1()
    esc.advance(s(0.1))
    esc.command(e.IncidentAcknowledged, s(1))
    esc.command(e.InvestigationStarted, s(2))
    esc.command(e.PutOnHold, s(60), p.PutOnHoldData(reason=HoldReason.AWAITING_VENDOR))
    assert not [ev for ev in esc.advance(s(11 * 60)) if isinstance(ev, e.SlaBreached)], "the clock is paused"
    esc.command(e.IncidentResumed, s(4 * 60 + 60))  # held for 4 minutes
    esc.advance(s(4 * 60 + 61))  # (the resume is at 5 min; the major rule fired at 30 s meanwhile)
    resolve_dues = [t.data.resolve_due_at for t in esc.accepted_of(e.SlaTargetsSet)]
    assert resolve_dues == [s(600), s(600 + 240)]
    assert esc.advance(s(839)) == []
    [breach] = esc.advance(s(840))
    assert isinstance(breach, e.SlaBreached) and breach.data.target is SlaTarget.RESOLVE


def test_a_later_policy_edit_never_changes_a_running_incident() -> None:
    v2 = parse_policy(
        (Path(__file__).resolve().parents[2] / "examples" / "policies" / "fast-demo.yaml")
        .read_text()
        .replace("version: 3", "version: 4")
        .replace("acknowledge: 5s", "acknowledge: 50s"),
        "fast-demo.yaml",
        {},
    )
    book = PolicyBook(FAST)
    esc = Escalator(book)
    esc.log_p1()
    esc.advance(s(0.1))
    esc.book = PolicyBook(v2, {FAST.key: FAST})  # the file is edited and the escalator restarted
    esc.command(
        e.IncidentPrioritized, s(1), p.PrioritizedData(impact=Level.HIGH, urgency=Level.MEDIUM, priority=Priority.P2)
    )
    esc.command(
        e.IncidentPrioritized, s(2), p.PrioritizedData(impact=Level.HIGH, urgency=Level.HIGH, priority=Priority.P1)
    )
    esc.advance(s(2.1))
    pinned = [(t.data.policy_version, t.data.ack_due_at) for t in esc.accepted_of(e.SlaTargetsSet)]
    assert pinned == [(3, s(5)), (3, s(30 * 60)), (3, s(5))]


def test_security_incidents_go_to_the_security_team() -> None:
    esc = Escalator(PolicyBook(FAST))
    esc.log_p1(category="security")
    [escalation] = [ev for ev in esc.advance(s(4)) if isinstance(ev, e.IncidentEscalated)]
    assert escalation.data.target_team == "security-oncall" and escalation.data.reason is EscalationReason.ACK_SLA
    assert [(d.channel, d.kind) for d in esc.deliveries] == [("security", "slack")]


def test_backoff_grows_exponentially_with_jitter() -> None:
    sender = Sender.__new__(Sender)
    sender.backoff_s, sender.rng = 1.0, random.Random(7)
    for attempt in range(1, 6):
        delay = sender.backoff(attempt).total_seconds()
        assert 0.5 * 2 ** (attempt - 1) <= delay <= 2 ** (attempt - 1)


class RecordingLog:
    def __init__(self) -> None:
        self.appends: list[list[UUID]] = []

    async def append(self, events: list[e.EventBase]) -> None:
        self.appends.append([event.incident_id for event in events])


async def test_the_timer_loop_appends_each_incident_on_its_own() -> None:
    """An append is one record batch on one incident's partition: mixing incidents would misroute events."""
    log = RecordingLog()
    loop = TimerLoop(None, log, PolicyBook(FAST), People, SystemClock(), Ownership(), tick_s=0.1)  # type: ignore[arg-type]
    a, b = Escalator(PolicyBook(FAST)), Escalator(PolicyBook(FAST))
    for esc in (a, b):
        esc.log_p1()
    emitted = [*a.advance(s(5)), *b.advance(s(5))]
    await loop._append_per_incident(emitted)
    assert sorted(log.appends, key=len) == sorted(
        [[ev.incident_id for ev in emitted if ev.incident_id == esc.incident] for esc in (a, b)], key=len
    )
    assert all(len(set(group)) == 1 for group in log.appends)


class OneIncidentDown(RecordingLog):
    """The log refuses one incident's appends (its partition's leader is down), takes the others."""

    def __init__(self, down: UUID) -> None:
        super().__init__()
        self.down = down

    async def append(self, events: list[e.EventBase]) -> None:
        if events[0].incident_id == self.down:
            raise LogUnavailable("leader not available")
        await super().append(events)


async def test_one_failed_append_does_not_hold_back_the_other_incidents_timers() -> None:
    a, b = Escalator(PolicyBook(FAST)), Escalator(PolicyBook(FAST))
    for esc in (a, b):
        esc.log_p1()
    log = OneIncidentDown(b.incident)
    loop = TimerLoop(None, log, PolicyBook(FAST), People, SystemClock(), Ownership(), tick_s=0.1)  # type: ignore[arg-type]
    failed = await loop._append_per_incident([*a.advance(s(5)), *b.advance(s(5))])
    assert failed == {b.incident}, "only b's timers stay pending"
    assert {group[0] for group in log.appends} == {a.incident}, "a's events were appended"


def test_a_poison_record_parks_its_incident_like_the_projector_does() -> None:
    esc = Escalator(PolicyBook(FAST))
    poison = Record(0, esc.offset, str(esc.incident), b"{not json")
    esc.offset += 1
    out = fold_batch(decode_records([poison]), esc.known, esc.book, People())
    assert out.parked == {str(esc.incident): (0, 0)}
    esc.log_p1()
    esc.advance(s(30))
    assert esc.accepted == [], "events behind a poison record are judged by nobody"
    assert esc.timers == {} and esc.deliveries == []
