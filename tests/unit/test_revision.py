"""Bookkeeping the system appends moves the stream position (`version`) but not the client's `revision`."""

from uuid import uuid5

import pytest

from incidents_shared.domain import commands as c
from incidents_shared.domain import events as e
from incidents_shared.domain.decide import decide
from incidents_shared.domain.enums import SlaTarget, Status
from incidents_shared.domain.errors import VersionConflict
from incidents_shared.domain.fold import judge
from incidents_shared.domain.state import Incident
from tests.unit.builders import LOG, NAMESPACE, Metas, apply, breached, event, given, in_status

BOOKKEEPING = [
    event(e.SlaTargetsSet, event_id=uuid5(NAMESPACE, "targets")),
    breached(SlaTarget.ACKNOWLEDGE, event_id=uuid5(NAMESPACE, "breach")),
    event(e.NotificationSent, event_id=uuid5(NAMESPACE, "sent")),
    event(e.NotificationFailed, event_id=uuid5(NAMESPACE, "failed")),
    event(e.AlertCorrelated, event_id=uuid5(NAMESPACE, "alert")),
    event(e.AlertsRecorded, event_id=uuid5(NAMESPACE, "alerts")),
    event(e.IncidentPaged, event_id=uuid5(NAMESPACE, "paged")),
]


def _new(metas: Metas) -> Incident:
    state = in_status(Status.NEW, metas)
    assert state is not None
    return state


def test_the_bookkeeping_types_are_the_system_appended_ones() -> None:
    assert (
        {e.event_type(type(x)) for x in BOOKKEEPING}
        == e.BOOKKEEPING_TYPES
        == {
            "incident.sla_targets_set",
            "incident.sla_breached",
            "incident.notification_sent",
            "incident.notification_failed",
            "incident.alert_correlated",
            "incident.alerts_recorded",
            "incident.paged",
        }
    )


@pytest.mark.parametrize("bookkeeping", BOOKKEEPING, ids=lambda x: e.event_type(type(x)))
def test_bookkeeping_moves_the_version_but_not_the_revision(bookkeeping: e.EventBase) -> None:
    before = _new(Metas())

    verdict, after = judge(before, bookkeeping, seen=False)

    assert verdict.accepted, verdict.reason
    assert after is not None
    assert (after.version, after.revision) == (before.version + 1, before.revision)
    assert (verdict.version, verdict.revision) == (after.version, after.revision)


def test_a_person_s_event_moves_both() -> None:
    before = _new(Metas())

    _, after = judge(before, event(e.NoteAdded), seen=False)

    assert after is not None
    assert (after.version, after.revision) == (before.version + 1, before.revision + 1)


def test_a_command_holding_the_revision_succeeds_after_bookkeeping() -> None:
    metas = Metas()
    before = _new(metas)
    after_bookkeeping = apply(before, BOOKKEEPING)
    assert after_bookkeeping is not None
    assert after_bookkeeping.version == before.version + len(BOOKKEEPING)

    [acknowledged] = decide(after_bookkeeping, c.Acknowledge(), metas(expected_version=before.revision))
    verdict, after = judge(after_bookkeeping, acknowledged, seen=False)

    assert verdict.accepted, verdict.reason
    assert after is not None
    assert after.status is Status.ACKNOWLEDGED
    assert after.revision == before.revision + 1


def test_a_command_holding_the_stream_version_conflicts() -> None:
    metas = Metas()
    after_bookkeeping = apply(_new(metas), BOOKKEEPING)
    assert after_bookkeeping is not None

    with pytest.raises(VersionConflict) as raised:
        decide(after_bookkeeping, c.Acknowledge(), metas(expected_version=after_bookkeeping.version))

    assert (raised.value.expected, raised.value.current) == (after_bookkeeping.version, after_bookkeeping.revision)


def test_a_command_holding_an_old_revision_conflicts() -> None:
    metas = Metas()
    state = given(LOG, c.AddNote(text="first look"), metas=metas)
    assert state.revision == 2

    with pytest.raises(VersionConflict, match="expected revision 1, incident is at revision 2"):
        decide(state, c.Acknowledge(), metas(expected_version=1))
