"""The fold's verdicts: duplicate, rejected_conflict, rejected_invalid, accepted with a chained hash."""

from uuid import uuid5

from incidents_shared.domain import events as e
from incidents_shared.domain.codec import GENESIS_HASH, chain_hash
from incidents_shared.domain.enums import Status
from incidents_shared.domain.fold import VerdictKind, judge
from tests.unit.builders import INCIDENT_ID, NAMESPACE, event, in_status


def test_the_first_event_is_chained_to_the_genesis_hash() -> None:
    logged = event(e.IncidentLogged)

    verdict, state = judge(None, logged, seen=False)

    assert verdict.kind is VerdictKind.ACCEPTED
    assert state is not None
    assert (state.version, state.revision) == (1, 1)
    assert GENESIS_HASH == "0" * 64
    assert verdict.hash == state.last_hash == chain_hash(GENESIS_HASH, logged)
    assert (verdict.event_id, verdict.incident_id, verdict.reason) == (logged.event_id, INCIDENT_ID, None)


def test_an_accepted_event_moves_the_version_and_chains_the_hash() -> None:
    before = in_status(Status.NEW)
    assert before is not None
    acknowledged = event(e.IncidentAcknowledged)

    verdict, after = judge(before, acknowledged, seen=False)

    assert verdict.accepted
    assert after is not None
    assert (verdict.version, verdict.revision) == (after.version, after.revision) == (2, 2)
    assert verdict.hash == after.last_hash == chain_hash(before.last_hash, acknowledged)
    assert after.last_hash != before.last_hash


def test_a_seen_event_is_a_duplicate_and_changes_nothing() -> None:
    before = in_status(Status.NEW)
    assert before is not None

    verdict, after = judge(before, event(e.IncidentAcknowledged), seen=True)

    assert verdict.kind is VerdictKind.DUPLICATE
    assert not verdict.accepted
    assert verdict.hash is None
    assert (verdict.version, verdict.revision) == (before.version, before.revision)
    assert after is before


def test_duplicate_wins_over_conflict_and_invalid() -> None:
    closed = in_status(Status.CLOSED)

    verdict, _ = judge(closed, event(e.IncidentAcknowledged, expected_version=99), seen=True)

    assert verdict.kind is VerdictKind.DUPLICATE


def test_an_expected_version_other_than_the_revision_is_a_conflict() -> None:
    before = in_status(Status.NEW)
    assert before is not None

    verdict, after = judge(before, event(e.IncidentAcknowledged, expected_version=before.revision - 1), seen=False)

    assert verdict.kind is VerdictKind.REJECTED_CONFLICT
    assert verdict.reason == "expected revision 0, incident is at revision 1"
    assert verdict.hash is None
    assert after is before


def test_the_expected_revision_is_accepted() -> None:
    before = in_status(Status.NEW)
    assert before is not None

    verdict, _ = judge(before, event(e.IncidentAcknowledged, expected_version=before.revision), seen=False)

    assert verdict.accepted


def test_conflict_is_reported_before_invalid() -> None:
    closed = in_status(Status.CLOSED)

    verdict, _ = judge(closed, event(e.IncidentAcknowledged, expected_version=0), seen=False)

    assert verdict.kind is VerdictKind.REJECTED_CONFLICT


def test_an_event_not_allowed_in_the_state_is_rejected_invalid() -> None:
    closed = in_status(Status.CLOSED)

    verdict, after = judge(closed, event(e.IncidentAcknowledged), seen=False)

    assert verdict.kind is VerdictKind.REJECTED_INVALID
    assert verdict.reason == "incident.acknowledged is not allowed when the incident is closed"
    assert after is closed


def test_an_event_before_the_incident_exists_is_rejected_invalid() -> None:
    verdict, after = judge(None, event(e.IncidentAcknowledged), seen=False)

    assert verdict.kind is VerdictKind.REJECTED_INVALID
    assert (verdict.version, verdict.revision) == (0, 0)
    assert after is None


def test_a_rejected_event_does_not_break_the_hash_chain() -> None:
    new = in_status(Status.NEW)
    assert new is not None
    _, same = judge(new, event(e.IncidentResumed, event_id=uuid5(NAMESPACE, "rejected")), seen=False)
    acknowledged = event(e.IncidentAcknowledged)

    verdict, after = judge(same, acknowledged, seen=False)

    assert verdict.accepted
    assert after is not None
    assert after.version == new.version + 1
    assert verdict.hash == chain_hash(new.last_hash, acknowledged)
