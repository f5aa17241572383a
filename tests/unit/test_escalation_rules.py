"""The escalation rules in the domain: reactions never raise, drills never reach a real channel, a page that
cannot be delivered is never silent, and Slack text cannot smuggle mentions or links."""

from datetime import timedelta
from typing import Any
from uuid import uuid5

import hypothesis
from hypothesis import strategies as st

from incidents_shared.domain import events as e
from incidents_shared.domain import payloads as p
from incidents_shared.domain.enums import EscalationReason, HoldReason, Level, Priority, Role
from incidents_shared.domain.escalation.book import PolicyBook
from incidents_shared.domain.escalation.policy import Policy
from incidents_shared.domain.escalation.recipients import slack_escape
from incidents_shared.domain.escalation.simulation import Simulator, simulate_incident
from incidents_shared.domain.priority import PRIORITY_MATRIX
from tests.unit.builders import INCIDENT_ID, NAMESPACE, actor, at
from tests.unit.test_properties import SETTINGS, Step, histories, play

CHANNELS = {
    "hook": {"kind": "webhook", "url": "http://127.0.0.1:9/hook"},
    "chat": {"kind": "slack", "url": "http://127.0.0.1:9/chat"},
}
TEAMS = {"ops": {"channels": ["hook"]}, "leads": {"channels": ["chat"]}, "mute": {"channels": []}}


def policy(priorities: dict[str, Any], **extra: Any) -> Policy:
    return Policy.model_validate(
        {"id": "test", "version": 1, "channels": CHANNELS, "teams": TEAMS, "priorities": priorities, **extra}
    )


ONLY_P1 = policy(
    {"P1": {"acknowledge": "5m", "resolve": "1h", "steps": [{"after": "5m", "level": 2, "team": "ops"}]}},
    stakeholders={"*": ["hook"]},
)


def simulated(book: PolicyBook, events: list[e.EventBase]) -> Simulator:
    sim = Simulator(book)
    for event in events:
        sim.advance(event.occurred_at, inclusive=False)
        sim.append(event)
    sim.advance(events[-1].occurred_at + timedelta(days=30))
    return sim


def person(cls: type[e.EventBase], minute: float, data: p.Payload | None = None, **envelope: Any) -> e.EventBase:
    return cls.model_validate(
        {
            "event_id": uuid5(NAMESPACE, f"{cls.__name__}-{minute}"),
            "incident_id": INCIDENT_ID,
            "occurred_at": at(minute),
            "recorded_at": at(minute),
            "actor": actor(Role.MANAGER),
            "correlation_id": "test",
            "data": data if data is not None else {},
            **envelope,
        }
    )


def matrix(priority: Priority) -> tuple[Level, Level]:
    return next(levels for levels, prio in PRIORITY_MATRIX.items() if prio is priority)


def logged(priority: Priority, minute: float = 0, title: str = "Checkout down", **fields: Any) -> e.EventBase:
    impact, urgency = matrix(priority)
    data = p.LoggedData(
        title=title, service="checkout", reporter="carol", detected_at=at(minute),
        impact=impact, urgency=urgency, priority=priority, **fields,
    )  # fmt: skip
    return person(e.IncidentLogged, minute, data)


def test_a_priority_without_a_rule_is_reopened_without_sla_and_nothing_raises() -> None:
    events = [
        logged(Priority.P5),
        person(e.IncidentResolved, 1, p.ResolvedData(summary="done", resolution_code="fixed")),
        person(e.IncidentReopened, 2, p.ReopenedData(reason="back")),
    ]
    sim = simulated(PolicyBook(ONLY_P1), events)
    assert [type(ev) for ev in sim.accepted] == [e.IncidentLogged, e.IncidentResolved, e.IncidentReopened]
    assert sim.timers == {}


def test_a_p1_lowered_to_a_priority_without_a_rule_holds_and_resumes_without_raising() -> None:
    events = [
        logged(Priority.P1),
        person(e.IncidentPrioritized, 1, p.PrioritizedData(impact=Level.LOW, urgency=Level.LOW, priority=Priority.P5)),
        person(e.IncidentAcknowledged, 2),
        person(e.InvestigationStarted, 3),
        person(e.PutOnHold, 4, p.PutOnHoldData(reason=HoldReason.OTHER)),
        person(e.IncidentResumed, 5),
    ]
    sim = simulated(PolicyBook(ONLY_P1), events)
    assert e.IncidentResumed in {type(ev) for ev in sim.accepted}


rules = st.fixed_dictionaries(
    {"acknowledge": st.sampled_from(["1m", "5m", "1h"]), "resolve": st.sampled_from(["10m", "4h", "2d"])},
    optional={
        "steps": st.sampled_from([[], [{"after": "2m", "level": 2, "team": "ops"}]]),
        "calendar": st.just("office"),
        "repeat": st.just({"times": 2, "every": "3m"}),
        "major": st.just({"after": "1m", "notify": "leads"}),
    },
)
policies = st.dictionaries(st.sampled_from([x.value for x in Priority]), rules, max_size=5).map(
    lambda prios: policy(
        prios,
        calendars={
            "office": {"timezone": "Europe/Amsterdam", "days": ["mon", "tue"], "opens": "09:00", "closes": "17:00"}
        },
        stakeholders={"*": ["hook"]},
    )
)


@SETTINGS
@hypothesis.given(policies, histories)
def test_for_any_policy_and_any_history_the_escalators_reactions_never_raise(
    rule_book: Policy, history: list[Step]
) -> None:
    log = play(history).log
    if log:
        simulated(PolicyBook(rule_book), log)  # raises on any KeyError, AssertionError, ...


def test_a_drills_notifications_are_recorded_and_never_sent() -> None:
    events = [
        logged(Priority.P1, source="drill"),
        person(e.StakeholderUpdatePosted, 1, p.StakeholderUpdateData(audience="customers", message="we are on it")),
    ]
    sim = simulated(PolicyBook(ONLY_P1), events)
    assert sim.deliveries, "the drill still says what it would have sent"
    assert all(d.drill for d in sim.deliveries)
    real = simulated(PolicyBook(ONLY_P1), [logged(Priority.P1)])
    assert real.deliveries and not any(d.drill for d in real.deliveries)


def escalated(team: str) -> e.EventBase:
    data = p.EscalatedData(level=3, target_team=team, reason=EscalationReason.MANUAL)
    return person(e.IncidentEscalated, 1, data)


def test_a_page_to_an_unknown_team_is_an_undeliverable_notification_naming_the_known_teams() -> None:
    sim = simulated(PolicyBook(ONLY_P1), [logged(Priority.P3), escalated("nobody-knows")])
    [delivery] = sim.deliveries
    assert delivery.target == "nobody-knows"
    assert delivery.undeliverable is not None
    assert "nobody-knows" in delivery.undeliverable
    assert "leads, mute, ops" in delivery.undeliverable


def test_a_simulation_counts_no_page_for_an_undeliverable_one() -> None:
    events = [logged(Priority.P3), escalated("nobody-knows")]
    outcome = simulate_incident(events, PolicyBook(ONLY_P1), at(60))
    assert outcome is not None
    assert (outcome.pages, outcome.escalations) == (0, 1)


def test_a_page_to_a_team_without_channels_is_undeliverable() -> None:
    sim = simulated(PolicyBook(ONLY_P1), [logged(Priority.P3), escalated("mute")])
    [delivery] = sim.deliveries
    assert delivery.undeliverable == "team 'mute' has no channels in policy test v1"


def test_slack_text_escapes_control_sequences() -> None:
    assert slack_escape("<!channel> & <https://evil|Login>") == "&lt;!channel&gt; &amp; &lt;https://evil|Login&gt;"


def test_a_slack_message_carries_no_mention_or_link_from_a_title() -> None:
    paged_on_chat = policy(
        {"P1": {"acknowledge": "5m", "resolve": "1h", "steps": [{"after": "1m", "level": 2, "team": "leads"}]}}
    )
    sim = simulated(PolicyBook(paged_on_chat), [logged(Priority.P1, title="<!channel> <https://evil|Login> & more")])
    [text] = [d.body["text"] for d in sim.deliveries if d.channel == "chat"]
    assert "<!channel>" not in text
    assert "<https://evil|Login>" not in text
    assert "&lt;!channel&gt; &lt;https://evil|Login&gt; &amp; more" in text
