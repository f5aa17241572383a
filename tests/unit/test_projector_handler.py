"""The projector's batch handler against in-memory fakes of its ports: what it writes to the read model and sends
to the dead letters, batch by batch (no Kafka, no PostgreSQL)."""

import pytest

from incidents_shared.audit import SigningKey
from incidents_shared.domain import commands as c
from incidents_shared.domain.enums import Level, NoteKind, Status
from incidents_shared.domain.fold import VerdictKind
from incidents_shared.offsets import OffsetsMoved
from projector.handler import AuditCheckpoints, ProjectorHandler
from tests.unit.builders import INCIDENT_ID, OTHER_INCIDENT_ID
from tests.unit.fakes_readers import FakeDeadLetters, FakeLog, FakeReadModel, FakeWriter, StoreFailed

LOG = c.LogIncident(title="Checkout fails", service="checkout", impact=Level.HIGH, urgency=Level.HIGH)
POISON = b'{"type": "incident.logged", "not": "an event"}'


class Projector:
    def __init__(self, audit: AuditCheckpoints | None = None) -> None:
        self.read_model = FakeReadModel()
        self.dead_letters = FakeDeadLetters()
        self.handler = ProjectorHandler(self.read_model, self.dead_letters, audit)
        self.log = FakeLog()
        self.write = FakeWriter()


async def test_a_new_incidents_batch_stores_its_state_verdicts_events_and_offsets() -> None:
    p = Projector()
    events = p.write(INCIDENT_ID, LOG, c.Acknowledge(), c.AddNote(kind=NoteKind.DIAGNOSIS, text="gateway restarted"))

    await p.handler.handle(p.log.records(*events))

    stored = p.read_model.committed
    assert stored.incidents[INCIDENT_ID].status is Status.ACKNOWLEDGED
    assert stored.incidents[INCIDENT_ID] == p.write.states[INCIDENT_ID]
    assert {i: v.kind for i, v in stored.verdicts.items()} == {e.event_id: VerdictKind.ACCEPTED for e in events}
    assert stored.events == events
    assert stored.offsets == {0: 3}
    assert set(stored.digests) == {0}
    assert p.read_model.commits == 1
    assert p.dead_letters.sent == []


async def test_the_same_batch_polled_again_is_fenced_and_stores_nothing_twice() -> None:
    p = Projector()
    records = p.log.records(*p.write(INCIDENT_ID, LOG, c.Acknowledge()))
    await p.handler.handle(records)
    before = p.read_model.committed

    with pytest.raises(OffsetsMoved):
        await p.handler.handle(records)

    assert p.read_model.committed == before
    assert p.read_model.commits == 1


async def test_events_appended_twice_are_duplicates_and_store_nothing_but_the_offsets() -> None:
    p = Projector()
    events = p.write(INCIDENT_ID, LOG, c.Acknowledge())
    await p.handler.handle(p.log.records(*events))
    before = p.read_model.committed

    await p.handler.handle(p.log.records(*events))  # a writer's retry appended them again, further on

    after = p.read_model.committed
    assert after.verdicts == before.verdicts
    assert after.events == before.events
    assert after.incidents == before.incidents
    assert after.offsets == {0: 4}


async def test_a_poison_record_is_dead_lettered_once_and_parks_its_key_while_others_flow() -> None:
    p = Projector()
    logged = p.log.records(*p.write(INCIDENT_ID, LOG))
    poison = p.log.record(POISON, str(INCIDENT_ID))
    rest = p.log.records(*p.write(INCIDENT_ID, c.Acknowledge()), *p.write(OTHER_INCIDENT_ID, LOG))
    await p.handler.handle([*logged, poison, *rest])

    [(sent, error)] = p.dead_letters.sent
    assert sent == poison and error
    stored = p.read_model.committed
    assert stored.parked == {str(INCIDENT_ID): (0, 1)}
    assert stored.dead_letters == {(0, 1): error}
    assert stored.parked_events == {(0, 2): str(INCIDENT_ID)}  # the acknowledgement, held
    assert stored.incidents[INCIDENT_ID].status is Status.NEW
    assert OTHER_INCIDENT_ID in stored.incidents

    later = p.log.records(*p.write(INCIDENT_ID, c.StartInvestigation()), *p.write(OTHER_INCIDENT_ID, c.Acknowledge()))
    await p.handler.handle(later)

    assert len(p.dead_letters.sent) == 1
    stored = p.read_model.committed
    assert stored.parked_events == {(0, 2): str(INCIDENT_ID), (0, 4): str(INCIDENT_ID)}
    assert stored.incidents[INCIDENT_ID].status is Status.NEW
    assert stored.incidents[OTHER_INCIDENT_ID].status is Status.ACKNOWLEDGED
    assert stored.offsets == {0: 6}


async def test_a_failed_write_leaves_nothing_written_and_the_same_batch_retried_succeeds() -> None:
    p = Projector()
    records = p.log.records(*p.write(INCIDENT_ID, LOG, c.Acknowledge()))
    p.read_model.fail_write = StoreFailed("connection reset")

    with pytest.raises(StoreFailed):
        await p.handler.handle(records)
    assert p.read_model.committed == FakeReadModel().committed
    assert p.read_model.commits == 0

    await p.handler.handle(records)

    stored = p.read_model.committed
    assert stored.incidents[INCIDENT_ID].status is Status.ACKNOWLEDGED
    assert len(stored.verdicts) == 2
    assert stored.offsets == {0: 2}


async def test_a_fenced_zombie_writes_nothing_and_sends_no_dead_letter() -> None:
    p = Projector()
    await p.handler.handle(p.log.records(*p.write(INCIDENT_ID, LOG)))
    before = p.read_model.committed
    zombie_log = FakeLog()  # a consumer that lost its partition and still reads from offset 0
    stale = [zombie_log.record(POISON, str(OTHER_INCIDENT_ID)), *zombie_log.records(*p.write(OTHER_INCIDENT_ID, LOG))]

    with pytest.raises(OffsetsMoved) as fenced:
        await p.handler.handle(stale)

    assert fenced.value.moved == {0: (1, 0)}
    assert p.read_model.committed == before
    assert p.dead_letters.sent == []


async def test_audit_checkpoints_are_written_with_the_batch_when_due() -> None:
    p = Projector(AuditCheckpoints(SigningKey.generate(), every_s=0.0))

    await p.handler.handle(p.log.records(*p.write(INCIDENT_ID, LOG), partition=2))

    stored = p.read_model.committed
    assert stored.checkpoints == [(2, 1, stored.digests[2])]


async def test_the_offsets_to_seek_to_are_the_read_models() -> None:
    p = Projector()
    await p.handler.handle(p.log.records(*p.write(INCIDENT_ID, LOG), partition=1))

    assert await p.handler.load_offsets() == {1: 1}
