"""The escalator's batch handler against an in-memory fake of its fold store: the states, timers and deliveries it
writes batch by batch (no Kafka, no PostgreSQL)."""

from datetime import timedelta

import pytest

from escalator.handler import EscalatorHandler
from incidents_shared.domain import commands as c
from incidents_shared.domain.enums import Level, NoteKind, Status
from incidents_shared.domain.escalation.book import PolicyBook
from incidents_shared.domain.escalation.people import People
from incidents_shared.domain.escalation.policy import Policy
from incidents_shared.domain.escalation.timers import Timer, TimerKind, build_event
from incidents_shared.offsets import OffsetsMoved
from tests.unit.builders import INCIDENT_ID, OTHER_INCIDENT_ID
from tests.unit.fakes_readers import (
    CANCELLED,
    DRILL,
    PENDING,
    FakeFoldStore,
    FakeLog,
    FakeWriter,
    FoldTables,
    StoreFailed,
)

POLICY = Policy.model_validate(
    {
        "id": "test",
        "version": 1,
        "channels": {
            "hook": {"kind": "webhook", "url": "http://127.0.0.1:9/hook"},
            "chat": {"kind": "slack", "url": "http://127.0.0.1:9/chat"},
        },
        "teams": {"ops": {"channels": ["hook", "chat"]}, "leads": {"channels": ["chat"]}},
        "priorities": {
            "P1": {
                "acknowledge": "5m",
                "resolve": "1h",
                "steps": [{"after": "5m", "level": 2, "team": "ops"}, {"after": "15m", "level": 3, "team": "leads"}],
            }
        },
    }
)
P1 = c.LogIncident(title="Checkout down", service="checkout", impact=Level.HIGH, urgency=Level.HIGH)
POISON = b"\xff not json"


class Escalator:
    def __init__(self) -> None:
        self.fold = FakeFoldStore()
        self.book = PolicyBook(POLICY)
        self.handler = EscalatorHandler(self.fold, self.book, People)
        self.log = FakeLog()
        self.write = FakeWriter()

    @property
    def stored(self) -> FoldTables:
        return self.fold.committed

    def pending(self, kind: TimerKind) -> list[Timer]:
        return [t for t in self.stored.timers_with(PENDING) if t.kind is kind]

    async def fire_targets(self) -> None:
        """What the timer loop does with the due `targets` timer: append its incident.sla_targets_set."""
        [timer] = self.pending(TimerKind.TARGETS)
        event = build_event(timer, self.stored.states[timer.incident_id], self.book, People(), timer.due_at)
        self.fold.fire(timer)
        await self.handler.handle(self.log.records(event))


async def test_a_p1_logged_stores_its_state_and_arms_its_sla_targets() -> None:
    esc = Escalator()
    [logged] = esc.write(INCIDENT_ID, P1)

    await esc.handler.handle(esc.log.records(logged))

    assert esc.stored.states[INCIDENT_ID].status is Status.NEW
    assert esc.stored.seen == {logged.event_id}
    assert esc.stored.offsets == {0: 1}
    [targets] = esc.pending(TimerKind.TARGETS)
    assert targets.incident_id == INCIDENT_ID
    assert targets.payload["priority"] == "P1"
    assert targets.payload["policy_id"] == "test"
    assert targets.due_at == logged.recorded_at


async def test_the_sla_targets_arm_the_breach_and_step_timers() -> None:
    esc = Escalator()
    [logged] = esc.write(INCIDENT_ID, P1)
    await esc.handler.handle(esc.log.records(logged))

    await esc.fire_targets()

    start = esc.stored.states[INCIDENT_ID].logged_at
    assert [t.due_at for t in esc.pending(TimerKind.ACK_BREACH)] == [start + timedelta(minutes=5)]
    assert [t.due_at for t in esc.pending(TimerKind.RESOLVE_BREACH)] == [start + timedelta(hours=1)]
    steps = sorted((t.step, t.due_at, t.payload["team"]) for t in esc.pending(TimerKind.STEP))
    assert steps == [(2, start + timedelta(minutes=5), "ops"), (3, start + timedelta(minutes=15), "leads")]


async def test_an_acknowledgement_cancels_the_step_timers_and_the_ack_breach() -> None:
    esc = Escalator()
    await esc.handler.handle(esc.log.records(*esc.write(INCIDENT_ID, P1)))
    await esc.fire_targets()

    await esc.handler.handle(esc.log.records(*esc.write(INCIDENT_ID, c.Acknowledge())))

    assert esc.pending(TimerKind.STEP) == []
    assert esc.pending(TimerKind.ACK_BREACH) == []
    assert {t.kind for t in esc.stored.timers_with(CANCELLED)} == {TimerKind.STEP, TimerKind.ACK_BREACH}
    assert len(esc.pending(TimerKind.RESOLVE_BREACH)) == 1


async def test_an_escalation_queues_one_delivery_per_channel_of_the_team() -> None:
    esc = Escalator()
    events = esc.write(INCIDENT_ID, P1, c.Escalate(target_team="ops", comment="needs the gateway team"))

    await esc.handler.handle(esc.log.records(*events))

    escalated = events[-1]
    queued = list(esc.stored.outbox.values())
    assert sorted(d.channel for d, _ in queued) == ["chat", "hook"]
    assert {(d.target, d.about_event_id, d.drill, status) for d, status in queued} == {
        ("ops", escalated.event_id, False, PENDING)
    }


async def test_a_drills_deliveries_are_kept_as_drill_and_never_pending() -> None:
    esc = Escalator()
    drill = c.LogIncident(title="Game day", service="checkout", impact=Level.HIGH, urgency=Level.HIGH, drill=True)
    events = esc.write(INCIDENT_ID, drill, c.Escalate(target_team="ops"))

    await esc.handler.handle(esc.log.records(*events))

    queued = list(esc.stored.outbox.values())
    assert len(queued) == 2
    assert all(d.drill and status == DRILL for d, status in queued)


async def test_a_poison_record_parks_its_key_and_its_later_records_are_skipped_while_others_flow() -> None:
    esc = Escalator()
    logged = esc.log.records(*esc.write(INCIDENT_ID, P1))
    poison = esc.log.record(POISON, str(INCIDENT_ID))
    rest = esc.log.records(*esc.write(INCIDENT_ID, c.Acknowledge()), *esc.write(OTHER_INCIDENT_ID, P1))

    await esc.handler.handle([*logged, poison, *rest])

    assert esc.stored.parked == {str(INCIDENT_ID): (0, 1)}
    assert esc.stored.states[INCIDENT_ID].status is Status.NEW  # the acknowledgement is held back
    assert esc.stored.states[OTHER_INCIDENT_ID].status is Status.NEW
    assert esc.stored.offsets == {0: 4}

    judged = esc.stored.seen
    note = esc.write(INCIDENT_ID, c.AddNote(kind=NoteKind.DIAGNOSIS, text="gateway certificate expired"))
    await esc.handler.handle(esc.log.records(*note))

    assert esc.stored.seen == judged  # a later batch's record of the parked key is skipped too
    assert esc.stored.parked == {str(INCIDENT_ID): (0, 1)}
    assert esc.stored.offsets == {0: 5}


async def test_a_failed_write_leaves_nothing_and_a_fenced_batch_writes_nothing() -> None:
    esc = Escalator()
    records = esc.log.records(*esc.write(INCIDENT_ID, P1))
    esc.fold.fail_write = StoreFailed("connection reset")

    with pytest.raises(StoreFailed):
        await esc.handler.handle(records)
    assert esc.stored == FoldTables()

    await esc.handler.handle(records)
    assert esc.stored.offsets == {0: 1}
    assert len(esc.pending(TimerKind.TARGETS)) == 1

    before = esc.stored
    with pytest.raises(OffsetsMoved):
        await esc.handler.handle(records)  # a zombie consumer with the same batch
    assert esc.stored == before
    assert await esc.handler.load_offsets() == {0: 1}
