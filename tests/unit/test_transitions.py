"""Given a state / when a command (or a system event) / then events or a refusal, for every precondition."""

import pytest

from incidents_shared.domain import commands as c
from incidents_shared.domain import events as e
from incidents_shared.domain.decide import decide
from incidents_shared.domain.enums import Status
from incidents_shared.domain.errors import IncidentNotFound, InvalidTransition
from incidents_shared.domain.fold import VerdictKind, judge
from incidents_shared.domain.preconditions import PRECONDITIONS
from tests.unit.builders import Metas, event, in_status
from tests.unit.cases import COMMAND_CASES, NEW, STATES, SYSTEM_CASES, Case


def _name(status: Status | None) -> str:
    return "absent" if status is None else status.value


def _grid(cases: list[Case]) -> list[object]:
    return [
        pytest.param(case, status, id=f"{e.event_type(case.event_cls)}-in-{_name(status)}")
        for case in cases
        for status in STATES
    ]


def test_the_cases_cover_every_precondition_entry() -> None:
    covered = [case.event_cls for case in COMMAND_CASES + SYSTEM_CASES]
    assert set(covered) == set(PRECONDITIONS) == set(e.EVENT_CLASSES)


@pytest.mark.parametrize(("case", "status"), _grid(COMMAND_CASES))
def test_command_is_decided_exactly_in_its_allowed_states(case: Case, status: Status | None) -> None:
    assert case.command is not None
    metas = Metas()
    state = in_status(status, metas)
    meta = metas()

    if status not in case.allowed:
        expected_error = IncidentNotFound if status is None and case.event_cls is not e.IncidentLogged else None
        with pytest.raises(expected_error or InvalidTransition):
            decide(state, case.command, meta)
        return

    events = decide(state, case.command, meta)

    expected = case.event_cls.model_validate(
        {
            "event_id": events[0].event_id,
            "incident_id": meta.incident_id,
            "occurred_at": meta.now,
            "recorded_at": meta.now,
            "actor": meta.actor,
            "correlation_id": meta.correlation_id,
            "data": case.data,
        }
    )
    assert events == [expected]
    verdict, after = judge(state, events[0], seen=False)
    assert verdict.kind is VerdictKind.ACCEPTED
    assert after is not None
    assert after.status == (case.then or (state.status if state else None))


@pytest.mark.parametrize(("case", "status"), _grid(COMMAND_CASES + SYSTEM_CASES))
def test_fold_accepts_the_event_exactly_in_its_allowed_states(case: Case, status: Status | None) -> None:
    state = in_status(status)
    raced = event(case.event_cls, case.data)

    verdict, after = judge(state, raced, seen=False)

    if status in case.allowed:
        assert verdict.kind is VerdictKind.ACCEPTED, verdict.reason
        assert after is not None
        assert after.status == (case.then or status)
    else:
        assert verdict.kind is VerdictKind.REJECTED_INVALID
        assert verdict.hash is None
        assert after == state


def test_decided_event_ids_are_deterministic_per_command_id() -> None:
    metas = Metas()
    state = in_status(NEW, metas)
    meta, other_meta = metas(), metas()

    first = decide(state, c.Acknowledge(), meta)
    retried = decide(state, c.Acknowledge(), meta)
    other = decide(state, c.Acknowledge(), other_meta)

    assert [x.event_id for x in retried] == [x.event_id for x in first]
    assert other[0].event_id != first[0].event_id


def test_decided_event_carries_the_command_metadata() -> None:
    state = in_status(NEW)
    base = Metas()()
    meta = c.CommandMeta(
        incident_id=base.incident_id,
        command_id=base.command_id,
        actor=base.actor,
        now=base.now,
        correlation_id="req-42",
        causation_id="evt-41",
        expected_version=state.revision if state else None,
        request_hash="ab" * 32,
    )

    [acknowledged] = decide(state, c.Acknowledge(), meta)

    assert acknowledged.correlation_id == "req-42"
    assert acknowledged.causation_id == "evt-41"
    assert acknowledged.expected_version == 1
    assert acknowledged.request_hash == "ab" * 32
    assert acknowledged.occurred_at == acknowledged.recorded_at == base.now
