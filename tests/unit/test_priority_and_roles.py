"""The priority matrix, priority overrides, who may issue which command, and the category taxonomy."""

import pytest

from incidents_shared.domain import commands as c
from incidents_shared.domain.authorization import COMMAND_ROLES
from incidents_shared.domain.decide import decide
from incidents_shared.domain.enums import Level, Priority, Role, Status
from incidents_shared.domain.errors import Forbidden, InvalidCommand
from incidents_shared.domain.priority import priority_for
from incidents_shared.domain.state import Incident
from incidents_shared.domain.taxonomy import DEFAULT_TAXONOMY
from tests.unit.builders import LOG, Metas, apply, given, in_status
from tests.unit.cases import COMMAND_CASES, STATES

H, M, L = Level.HIGH, Level.MEDIUM, Level.LOW

# ARCHITECTURE.md section 2: HH P1, HM P2, MH P2, HL P3, MM P3, LH P3, ML P4, LM P4, LL P5.
MATRIX = [
    (H, H, Priority.P1),
    (H, M, Priority.P2),
    (M, H, Priority.P2),
    (H, L, Priority.P3),
    (M, M, Priority.P3),
    (L, H, Priority.P3),
    (M, L, Priority.P4),
    (L, M, Priority.P4),
    (L, L, Priority.P5),
]


@pytest.mark.parametrize(("impact", "urgency", "priority"), MATRIX)
def test_priority_matrix(impact: Level, urgency: Level, priority: Priority) -> None:
    assert priority_for(impact, urgency) is priority


@pytest.mark.parametrize(("impact", "urgency", "priority"), MATRIX)
def test_logging_with_impact_and_urgency_sets_the_priority(impact: Level, urgency: Level, priority: Priority) -> None:
    state = given(c.LogIncident(title="Slow search", service="search", impact=impact, urgency=urgency))

    assert (state.impact, state.urgency, state.priority) == (impact, urgency, priority)


def test_logging_without_impact_and_urgency_leaves_the_priority_open() -> None:
    assert given(LOG).priority is None


def test_prioritizing_follows_the_matrix() -> None:
    state = given(LOG, c.Prioritize(impact=M, urgency=H))

    assert (state.priority, state.priority_overridden) == (Priority.P2, False)


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
def test_a_manager_may_override_the_priority_with_a_reason(role: Role) -> None:
    metas = Metas()
    state = given(LOG, metas=metas)
    override = c.Prioritize(impact=L, urgency=L, override_priority=Priority.P1, reason="board demo in 1h")

    after = apply(state, decide(state, override, metas(role)))

    assert after is not None
    assert (after.impact, after.urgency, after.priority, after.priority_overridden) == (L, L, Priority.P1, True)


def test_a_responder_may_not_override_the_priority() -> None:
    metas = Metas()
    state = given(LOG, metas=metas)
    override = c.Prioritize(impact=L, urgency=L, override_priority=Priority.P1, reason="board demo in 1h")

    with pytest.raises(Forbidden):
        decide(state, override, metas(Role.RESPONDER))


def test_a_priority_override_needs_a_reason() -> None:
    metas = Metas()
    state = given(LOG, metas=metas)

    with pytest.raises(InvalidCommand, match="reason"):
        decide(state, c.Prioritize(impact=L, urgency=L, override_priority=Priority.P1), metas(Role.MANAGER))


# ARCHITECTURE.md section 6: reporter logs and posts updates; responder adds the lifecycle; manager adds
# escalate, close and review; integration sends alerts only; auditor only reads; admin may do anything.
REPORTER_COMMANDS = {c.LogIncident, c.PostUpdate, c.AcknowledgeFromPage}  # a page link: whoever was paged
MANAGER_COMMANDS = {c.Escalate, c.Close, c.CompleteReview}


def _expected_roles(command: type[c.Command]) -> set[Role]:
    if command in REPORTER_COMMANDS:
        return {Role.REPORTER, Role.RESPONDER, Role.MANAGER, Role.ADMIN}
    if command in MANAGER_COMMANDS:
        return {Role.MANAGER, Role.ADMIN}
    return {Role.RESPONDER, Role.MANAGER, Role.ADMIN}


def _first_allowed_state(command: c.Command, metas: Metas) -> Incident | None:
    [case] = [case for case in COMMAND_CASES if case.command == command]
    status: Status | None = next(s for s in STATES if s in case.allowed)
    return in_status(status, metas)


def test_every_command_has_roles() -> None:
    alerts: set[type[c.Command]] = {c.ReceiveAlert, c.ReceiveAlertGroup}  # roles: test_alerts.py, test_alert_groups.py
    assert set(COMMAND_ROLES) == {type(case.command) for case in COMMAND_CASES} | alerts


@pytest.mark.parametrize("command", [case.command for case in COMMAND_CASES], ids=lambda x: type(x).__name__)
@pytest.mark.parametrize("role", list(Role))
def test_only_the_listed_roles_may_issue_a_command(command: c.Command, role: Role) -> None:
    metas = Metas()
    state = _first_allowed_state(command, metas)
    allowed = role in _expected_roles(type(command))
    assert allowed is (role in COMMAND_ROLES[type(command)])

    if allowed:
        assert decide(state, command, metas(role))
    else:
        with pytest.raises(Forbidden):
            decide(state, command, metas(role))


@pytest.mark.parametrize(
    "command",
    [
        c.LogIncident(title="x", service="y", category="plumbing"),
        c.LogIncident(title="x", service="y", category="network", subcategory="plumbing"),
        c.LogIncident(title="x", service="y", subcategory="dns"),
        c.Categorize(category="plumbing"),
        c.Categorize(category="network", subcategory="malware"),
    ],
    ids=[
        "log-unknown-category",
        "log-unknown-subcategory",
        "log-subcategory-alone",
        "unknown-category",
        "subcategory-of-another-category",
    ],
)
def test_unknown_categories_are_invalid(command: c.Command) -> None:
    metas = Metas()
    state = None if isinstance(command, c.LogIncident) else given(LOG, metas=metas)

    with pytest.raises(InvalidCommand, match=r"unknown|needs a category"):
        decide(state, command, metas())


@pytest.mark.parametrize(("category", "subcategory"), [("network", "dns"), ("database", None), ("other", "anything")])
def test_known_categories_are_recorded(category: str, subcategory: str | None) -> None:
    state = given(LOG, c.Categorize(category=category, subcategory=subcategory))

    assert (state.category, state.subcategory) == (category, subcategory)


def test_the_default_taxonomy_has_the_documented_categories() -> None:
    assert set(DEFAULT_TAXONOMY) == {"hardware", "software", "network", "security", "database", "access", "other"}


def test_a_deployment_taxonomy_replaces_the_default() -> None:
    metas = Metas()
    state = given(LOG, metas=metas)
    taxonomy = {"facilities": frozenset({"hvac"})}

    categorized = decide(state, c.Categorize(category="facilities", subcategory="hvac"), metas(), taxonomy=taxonomy)
    with pytest.raises(InvalidCommand):
        decide(state, c.Categorize(category="network"), metas(), taxonomy=taxonomy)

    after = apply(state, categorized)
    assert after is not None
    assert (after.category, after.subcategory) == ("facilities", "hvac")
