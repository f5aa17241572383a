"""The guards beyond the status table: races of the escalator with people, and repeated facts."""

import dataclasses

import pytest

from incidents_shared.domain import commands as c
from incidents_shared.domain import events as e
from incidents_shared.domain.decide import decide
from incidents_shared.domain.enums import EscalationReason, HoldReason, LinkRelation, Role, SlaTarget, Status
from incidents_shared.domain.errors import DomainError, InvalidTransition
from incidents_shared.domain.fold import VerdictKind, judge
from tests.unit.builders import (
    INCIDENT_ID,
    LOG,
    OTHER_INCIDENT_ID,
    Metas,
    breached,
    escalated,
    given,
    in_status,
    run,
)


def test_ack_sla_escalation_is_accepted_while_nobody_acknowledged() -> None:
    verdict, after = judge(in_status(Status.NEW), escalated(EscalationReason.ACK_SLA, level=1), seen=False)

    assert verdict.accepted
    assert after is not None
    assert after.escalation_level == 1
    assert after.team == "sre"


def test_ack_sla_escalation_that_lands_after_the_acknowledgement_is_rejected() -> None:
    acknowledged = given(LOG, c.Acknowledge())

    verdict, after = judge(acknowledged, escalated(EscalationReason.ACK_SLA, level=1), seen=False)

    assert verdict.kind is VerdictKind.REJECTED_INVALID
    assert verdict.reason == "incident was acknowledged before the acknowledge-SLA escalation"
    assert after == acknowledged


def test_resolve_sla_escalation_is_rejected_while_on_hold() -> None:
    on_hold = in_status(Status.ON_HOLD)

    verdict, after = judge(on_hold, escalated(EscalationReason.RESOLVE_SLA, level=1), seen=False)

    assert verdict.kind is VerdictKind.REJECTED_INVALID
    assert after == on_hold


def test_resolve_sla_escalation_is_accepted_while_investigating() -> None:
    verdict, _ = judge(in_status(Status.INVESTIGATING), escalated(EscalationReason.RESOLVE_SLA, level=1), seen=False)

    assert verdict.accepted


@pytest.mark.parametrize(
    "reason", [EscalationReason.ACK_SLA, EscalationReason.RESOLVE_SLA, EscalationReason.PRIORITY_RAISED]
)
@pytest.mark.parametrize(("level", "accepted"), [(1, False), (2, False), (3, True)])
def test_automatic_escalation_must_go_above_the_current_level(
    reason: EscalationReason, level: int, accepted: bool
) -> None:
    at_level_two = given(LOG, c.Escalate(target_team="dba", level=2))

    verdict, after = judge(at_level_two, escalated(reason, level=level), seen=False)

    assert verdict.accepted is accepted
    assert after is not None
    assert after.escalation_level == (level if accepted else 2)


def test_manual_escalation_to_a_lower_level_changes_the_team_but_keeps_the_level() -> None:
    state = given(LOG, c.Escalate(target_team="dba", level=3), c.Escalate(target_team="network", level=1))

    assert state.escalation_level == 3
    assert state.team == "network"


def test_manual_escalation_without_a_level_goes_one_level_up() -> None:
    state = given(LOG, c.Escalate(target_team="dba"), c.Escalate(target_team="cto-office", target_person="carol"))

    assert state.escalation_level == 2
    assert (state.team, state.assignee) == ("cto-office", "carol")


def test_escalating_without_a_level_at_the_top_level_is_a_domain_error() -> None:
    metas = Metas()
    at_top = given(LOG, c.Escalate(target_team="dba", level=20), metas=metas)

    with pytest.raises(DomainError):
        decide(at_top, c.Escalate(target_team="dba"), metas())


def test_the_same_sla_target_cannot_be_breached_twice() -> None:
    verdict, once = judge(in_status(Status.NEW), breached(SlaTarget.RESOLVE), seen=False)
    assert verdict.accepted
    assert once is not None
    assert once.breached == {SlaTarget.RESOLVE}

    again, after = judge(once, breached(SlaTarget.RESOLVE, event_id=INCIDENT_ID), seen=False)

    assert again.kind is VerdictKind.REJECTED_INVALID
    assert after == once


def test_both_targets_can_be_breached_once_each() -> None:
    _, once = judge(in_status(Status.NEW), breached(SlaTarget.ACKNOWLEDGE), seen=False)

    verdict, after = judge(once, breached(SlaTarget.RESOLVE, event_id=INCIDENT_ID), seen=False)

    assert verdict.accepted
    assert after is not None
    assert after.breached == {SlaTarget.ACKNOWLEDGE, SlaTarget.RESOLVE}


def test_ack_breach_after_the_acknowledgement_is_rejected() -> None:
    verdict, _ = judge(in_status(Status.ACKNOWLEDGED), breached(SlaTarget.ACKNOWLEDGE), seen=False)

    assert verdict.kind is VerdictKind.REJECTED_INVALID


def test_resolve_breach_while_on_hold_is_rejected() -> None:
    verdict, _ = judge(in_status(Status.ON_HOLD), breached(SlaTarget.RESOLVE), seen=False)

    assert verdict.kind is VerdictKind.REJECTED_INVALID


def test_an_incident_cannot_be_linked_to_itself() -> None:
    metas = Metas()
    state = in_status(Status.NEW, metas)

    with pytest.raises(InvalidTransition, match="itself"):
        decide(state, c.Link(other_incident_id=INCIDENT_ID, relation=LinkRelation.DUPLICATE_OF), metas())


def test_two_incidents_are_linked_once() -> None:
    metas = Metas()
    linked = given(LOG, c.Link(other_incident_id=OTHER_INCIDENT_ID, relation=LinkRelation.CAUSED_BY), metas=metas)
    assert [link.other_incident_id for link in linked.links] == [OTHER_INCIDENT_ID]

    with pytest.raises(InvalidTransition, match="already linked"):
        decide(linked, c.Link(other_incident_id=OTHER_INCIDENT_ID, relation=LinkRelation.RELATED), metas())


def test_major_incident_is_declared_once() -> None:
    metas = Metas()
    major = given(LOG, c.DeclareMajor(reason="all EU customers"), metas=metas)
    assert major.major

    with pytest.raises(InvalidTransition, match="already a major incident"):
        decide(major, c.DeclareMajor(reason="still all EU customers"), metas())


def test_hold_time_is_accumulated_across_holds_and_stops_at_resolution() -> None:
    # Metas() moves the clock one minute per command: holds last 1 minute (commands 3->4) and 1 minute (5->6).
    state = given(
        LOG,
        c.Acknowledge(),
        c.StartInvestigation(),
        c.PutOnHold(reason=HoldReason.AWAITING_CALLER),
        c.Resume(),
        c.PutOnHold(reason=HoldReason.OTHER),
        c.Resolve(summary="caller fixed it"),
    )

    assert state.on_hold_total_seconds == 120.0
    assert state.on_hold_since is None
    assert state.hold_reason is None


def test_logging_with_a_long_actor_id_is_not_a_crash() -> None:
    meta = Metas()(Role.REPORTER)
    long_actor = e.Actor(id="u" * 150, kind=meta.actor.kind, role=meta.actor.role)

    [logged] = decide(None, LOG, dataclasses.replace(meta, actor=long_actor))

    assert isinstance(logged, e.IncidentLogged)
    assert logged.data.reporter == "u" * 150


def test_decide_and_the_fold_agree_on_expected_version_for_a_new_incident() -> None:
    meta = Metas()(expected_version=3)

    try:
        events = decide(None, LOG, meta)
    except DomainError:
        return
    verdict, _ = judge(None, events[0], seen=False)
    assert verdict.accepted, verdict.reason


def test_a_reopened_incident_can_breach_its_new_resolve_target() -> None:
    metas = Metas()
    state = given(LOG, c.Acknowledge(), c.StartInvestigation(), metas=metas)
    verdict, state_after = judge(state, breached(SlaTarget.RESOLVE), seen=False)
    assert verdict.accepted and state_after is not None
    resolved = run(state_after, [c.Resolve(summary="fixed"), c.Reopen(reason="back again")], metas)
    assert resolved is not None
    assert SlaTarget.RESOLVE not in resolved.breached
    again, _ = judge(resolved, breached(SlaTarget.RESOLVE, event_id=OTHER_INCIDENT_ID), seen=False)
    assert again.accepted
