"""The authorization table (docs/decisions/0090), cell by cell: every (command, role, own/foreign incident), the
field rules, the read routes, and that `decide` is where commands meet it. Pure. The expectations are written out
here, apart from the table, so a change to the table shows up as a failing cell."""

from pathlib import Path
from typing import Any

import pytest

from incidents_shared.domain import alerts as a
from incidents_shared.domain import authorization as z
from incidents_shared.domain import commands as c
from incidents_shared.domain.authorization_doc import BEGIN, END, authorization_markdown
from incidents_shared.domain.decide import decide
from incidents_shared.domain.enums import Role
from incidents_shared.domain.errors import Forbidden
from incidents_shared.domain.taxonomy import DEFAULT_TAXONOMY
from tests.unit.builders import LOG, Metas, apply, given

SECURITY_MD = Path(__file__).resolve().parents[2] / "docs" / "SECURITY.md"
ME, OTHER = "me", "someone-else"
PEOPLE_REPORTERS = {Role.REPORTER, Role.RESPONDER, Role.MANAGER, Role.ADMIN}
PEOPLE_RESPONDERS = {Role.RESPONDER, Role.MANAGER, Role.ADMIN}
PEOPLE_MANAGERS = {Role.MANAGER, Role.ADMIN}
# Who may send each command at all (ARCHITECTURE.md section 6), and whether an integration is kept to its own.
EXPECTED: dict[type[c.Command], set[Role]] = {
    c.LogIncident: PEOPLE_REPORTERS,
    c.PostUpdate: PEOPLE_REPORTERS,
    c.AcknowledgeFromPage: PEOPLE_REPORTERS,
    **dict.fromkeys((c.Categorize, c.Prioritize, c.Assign, c.Acknowledge, c.StartInvestigation), PEOPLE_RESPONDERS),
    **dict.fromkeys((c.AddNote, c.PutOnHold, c.Resume, c.DeclareMajor, c.Link, c.Resolve), PEOPLE_RESPONDERS),
    c.Reopen: PEOPLE_RESPONDERS,
    **dict.fromkeys((c.Escalate, c.Close, c.CompleteReview), PEOPLE_MANAGERS),
    c.ReceiveAlert: {Role.INTEGRATION, Role.ADMIN},
    c.ReceiveAlertGroup: {Role.INTEGRATION, Role.ADMIN},
}
ALERT_COMMANDS: tuple[type[c.Command], ...] = (c.ReceiveAlert, c.ReceiveAlertGroup)
OWN_ONLY = {(command, Role.INTEGRATION) for command in ALERT_COMMANDS}  # an integration: its own incidents only


def _bare(command: type[c.Command]) -> c.Command:
    """A command with its defaults (no field rule triggered); the table reads only its type and rule fields."""
    return command.model_construct()


def test_the_table_covers_every_command() -> None:
    assert set(z.COMMANDS) == set(EXPECTED) == set(z.COMMAND_ROLES)


@pytest.mark.parametrize("owner", [ME, OTHER, None], ids=["own", "foreign", "not-opened-yet"])
@pytest.mark.parametrize("role", list(Role), ids=str)
@pytest.mark.parametrize("command", list(EXPECTED), ids=lambda cmd: cmd.__name__)
def test_every_command_role_and_object(command: type[c.Command], role: Role, owner: str | None) -> None:
    refusal = z.command_refusal(role.value, ME, _bare(command), owner)
    if role not in EXPECTED[command]:
        assert refusal is not None and refusal.rule == "role"
    elif owner == OTHER and (command, role) in OWN_ONLY:
        assert refusal is not None and refusal.rule == "own-objects-only"
    else:
        assert refusal is None


FIELD_CASES: list[tuple[str, c.Command, c.Command]] = [
    (
        "customers-audience",
        c.PostUpdate(audience="customers", message="We are on it"),
        c.PostUpdate(audience="stakeholders", message="We are on it"),
    ),
    ("drill", c.LogIncident(title="Game day", service="db", drill=True), c.LogIncident(title="Real", service="db")),
    (
        "priority-override",
        c.Prioritize(impact="low", urgency="low", override_priority="P1", reason="CEO demo"),
        c.Prioritize(impact="low", urgency="low"),
    ),
]


@pytest.mark.parametrize("owner", [ME, OTHER], ids=["own", "foreign"])
@pytest.mark.parametrize("role", list(Role), ids=str)
@pytest.mark.parametrize(("rule", "restricted", "plain"), FIELD_CASES, ids=[case[0] for case in FIELD_CASES])
def test_field_values_that_need_a_manager(
    rule: str, restricted: c.Command, plain: c.Command, role: Role, owner: str
) -> None:
    may_send = role in EXPECTED[type(restricted)]
    refused = z.command_refusal(role.value, ME, restricted, owner)
    if not may_send:
        assert refused is not None and refused.rule == "role"
    elif role in PEOPLE_MANAGERS:
        assert refused is None
    else:
        assert refused is not None and refused.rule == rule and "manager" in refused.detail
    assert (z.command_refusal(role.value, ME, plain, owner) is None) is may_send


READ_EXPECTED: dict[str, set[Role]] = {
    "GET /v1/incidents": {Role.REPORTER, Role.RESPONDER, Role.MANAGER, Role.AUDITOR, Role.ADMIN},
    "GET /v1/incidents/{incident_id}": {Role.REPORTER, Role.RESPONDER, Role.MANAGER, Role.AUDITOR, Role.ADMIN},
    "GET /v1/incidents/{incident_id}/timeline": {Role.REPORTER, Role.RESPONDER, Role.MANAGER, Role.AUDITOR, Role.ADMIN},
    "GET /v1/incidents/{incident_id}/audit": {Role.MANAGER, Role.AUDITOR, Role.ADMIN},
    "GET /v1/stream": {Role.REPORTER, Role.RESPONDER, Role.MANAGER, Role.AUDITOR, Role.ADMIN},
    "GET /v1/events/{event_id}": set(Role) - {Role.SYSTEM},
}  # fmt: skip


@pytest.mark.parametrize("owner", [ME, OTHER, None], ids=["own", "foreign", "writer-not-recorded"])
@pytest.mark.parametrize("role", list(Role), ids=str)
@pytest.mark.parametrize("route", list(READ_EXPECTED))
def test_every_read_route_role_and_object(route: str, role: Role, owner: str | None) -> None:
    assert set(z.READS) == set(READ_EXPECTED)
    refusal = z.read_refusal(route, role.value, ME, owner)
    if role not in READ_EXPECTED[route]:
        assert refusal is not None and refusal.rule == "role"
    elif route == z.VERDICT and role is Role.INTEGRATION and owner != ME:
        assert refusal is not None and refusal.rule == "own-objects-only"
    else:
        assert refusal is None


# --- decide is where commands meet the table ---------------------------------------------------------------------

AM_ALERT: dict[str, Any] = {
    "status": "firing",
    "labels": {"alertname": "DiskFull", "severity": "critical", "service": "db"},
    "annotations": {"summary": "Disk full"},
    "startsAt": "2026-01-01T00:00:00Z",
    "fingerprint": "a1b2c3",
}


def _alert(status: str = "firing") -> c.ReceiveAlert:
    alert = a.WebhookAlert.model_validate({**AM_ALERT, "status": status})
    return c.ReceiveAlert(alert=a.normalize_webhook(alert, "am", a.AlertMapping(), DEFAULT_TAXONOMY))


def _as(metas: Metas, role: Role, actor_id: str) -> c.CommandMeta:
    meta = metas(role)
    return c.CommandMeta(meta.incident_id, meta.command_id, meta.actor.model_copy(update={"id": actor_id}), meta.now,
                         meta.correlation_id)  # fmt: skip


def test_decide_refuses_an_integration_the_alert_incident_another_integration_opened() -> None:
    metas = Metas()
    state = apply(None, decide(None, _alert(), _as(metas, Role.INTEGRATION, "prometheus-a")))
    assert state is not None and state.reporter == "prometheus-a"
    for status in ("firing", "resolved"):
        with pytest.raises(Forbidden, match="own objects") as refused:
            decide(state, _alert(status), _as(metas, Role.INTEGRATION, "prometheus-b"))
        assert refused.value.rule == "own-objects-only"
    assert decide(state, _alert(), _as(metas, Role.INTEGRATION, "prometheus-a")), "its own: correlated"
    assert decide(state, _alert(), _as(metas, Role.ADMIN, "root")), "an admin may act on any incident"


@pytest.mark.parametrize("role", [Role.REPORTER, Role.RESPONDER])
def test_decide_refuses_a_customers_update_and_a_drill_below_manager(role: Role) -> None:
    metas = Metas()
    state = given(LOG, metas=metas)
    with pytest.raises(Forbidden) as refused:
        decide(state, c.PostUpdate(audience="customers", message="All good"), metas(role))
    assert refused.value.rule == "customers-audience"
    assert decide(state, c.PostUpdate(audience="stakeholders", message="All good"), metas(role))
    with pytest.raises(Forbidden) as refused:
        decide(None, c.LogIncident(title="Game day", service="db", drill=True), metas(role))
    assert refused.value.rule == "drill"
    assert decide(state, c.PostUpdate(audience="customers", message="All good"), metas(Role.MANAGER))
    assert decide(None, c.LogIncident(title="Game day", service="db", drill=True), metas(Role.MANAGER))


def test_the_security_doc_is_current() -> None:
    """docs/SECURITY.md's Authorization section is the table's rendering: regenerate it with
    `.venv/bin/python -m incidents_shared.domain.authorization_doc` when the table changes."""
    text = SECURITY_MD.read_text()
    rendered = authorization_markdown()
    assert BEGIN in rendered and END in rendered
    assert rendered in text, "docs/SECURITY.md is not current: regenerate its Authorization section"
