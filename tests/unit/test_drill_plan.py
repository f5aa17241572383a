"""The drill's plan: every event a person caused becomes the command that causes it again; bookkeeping is left out."""

from datetime import timedelta

import pytest

from command_api.routes.commands import ACTIONS
from incidentctl.drill_plan import DRILL_PREFIX, Step, plan, step_for, wait_before
from incidents_shared.domain import commands as c
from incidents_shared.domain import events as e
from incidents_shared.domain.enums import EscalationReason, Level, Priority
from incidents_shared.domain.events import BOOKKEEPING_TYPES, EVENT_CLASSES, event_type
from tests.unit.builders import INCIDENT_ID, SAMPLE_DATA, at, escalated, event

SKIPPED = BOOKKEEPING_TYPES | {"incident.linked"}


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=event_type)
def test_every_event_maps_to_a_valid_command_or_is_skipped(cls: type[e.EventBase]) -> None:
    sample = escalated(EscalationReason.MANUAL, 2) if cls is e.IncidentEscalated else event(cls)
    step = step_for(sample, INCIDENT_ID)
    if event_type(cls) in SKIPPED:
        assert step is None
        return
    assert step is not None and step.event_type == event_type(cls)
    command = c.LogIncident if step.action is None else ACTIONS[step.action]
    command.model_validate(step.body)  # the API would accept the body


def test_logged_becomes_a_drill_with_the_same_triage() -> None:
    step = step_for(event(e.IncidentLogged), INCIDENT_ID)
    assert step is not None
    body = c.LogIncident.model_validate(step.body)
    assert body.drill and body.title == DRILL_PREFIX + "Checkout fails"
    assert body.labels["drill_from"] == str(INCIDENT_ID) and body.labels["env"] == "prod"
    assert body.detected_at is None  # the drill starts now


def test_only_manual_escalations_are_replayed() -> None:
    manual = step_for(escalated(EscalationReason.MANUAL, 2), INCIDENT_ID)
    assert manual is not None and manual.body == {"target_team": "sre"}
    assert step_for(escalated(EscalationReason.ACK_SLA, 2), INCIDENT_ID) is None


def test_priority_override_keeps_its_reason() -> None:
    payload = SAMPLE_DATA[e.IncidentPrioritized].model_copy(
        update={"impact": Level.LOW, "urgency": Level.LOW, "overridden": True, "priority": Priority.P1, "reason": "CEO"}
    )
    step = step_for(event(e.IncidentPrioritized, payload), INCIDENT_ID)
    assert step is not None
    assert step.body == {"impact": "low", "urgency": "low", "override_priority": "P1", "reason": "CEO"}


def test_waits_are_the_original_gaps_divided_by_speed() -> None:
    events = [event(e.IncidentLogged, occurred_at=at(0)), event(e.IncidentAcknowledged, occurred_at=at(60))]
    events.append(event(e.SlaBreached, occurred_at=at(90)))
    steps: list[Step] = plan(events, INCIDENT_ID)
    assert [s.name for s in steps] == ["log", "acknowledge"]
    assert wait_before(steps, 0, 60) == timedelta(0)
    assert wait_before(steps, 1, 60) == timedelta(minutes=1)
    assert wait_before(steps, 1, 0) == timedelta(0)
