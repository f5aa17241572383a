"""The `/incident` slash command's syntax and answers: pure parsing into the HTTP API's own command models."""

from datetime import UTC, datetime
from uuid import UUID

import pytest

from command_api.outcomes import Accepted, Pending, Refused, Rejected
from command_api.slack import replies
from command_api.slack.syntax import Help, Run, ShowOnCall, ShowStatus, parse
from incidents_shared.domain import commands as c
from incidents_shared.domain.enums import Level, Priority, Status
from incidents_shared.domain.errors import InvalidTransition
from incidents_shared.domain.priority import priority_for
from incidents_shared.domain.state import Incident

ID = "7a4f0e8e-0c1d-4b6a-9f3e-2d1c0b9a8f70"


def test_new_logs_at_the_priority_named_through_the_matrix() -> None:
    for priority in Priority:
        parsed = parse(f"new {priority.value.lower()} payments Checkout fails for everyone")
        assert isinstance(parsed, Run) and parsed.incident_id is None and parsed.verb == "logged"
        command = parsed.command
        assert isinstance(command, c.LogIncident)
        assert (command.title, command.service) == ("Checkout fails for everyone", "payments")
        assert command.impact is not None and command.urgency is not None
        assert priority_for(command.impact, command.urgency) is priority
    p2 = parse("new P2 payments x")
    assert isinstance(p2, Run) and isinstance(p2.command, c.LogIncident)
    assert (p2.command.impact, p2.command.urgency) == (Level.HIGH, Level.MEDIUM)


def test_the_incident_subcommands_build_the_http_apis_commands() -> None:
    assert parse(f"ack {ID}") == Run("acknowledged", UUID(ID), c.Acknowledge())
    assert parse(f"  ACK {ID}  on it ") == Run("acknowledged", UUID(ID), c.Acknowledge(comment="on it"))
    assert parse(f"resolve {ID} restarted the pool") == Run(
        "resolved", UUID(ID), c.Resolve(summary="restarted the pool")
    )
    assert parse(f"note {ID} p95 is 30 s") == Run("noted on", UUID(ID), c.AddNote(text="p95 is 30 s"))
    assert parse(f"status {ID}") == ShowStatus(UUID(ID))
    assert parse("oncall") == ShowOnCall(None) and parse("oncall payments") == ShowOnCall("payments")
    assert parse("") == Help() and parse("help") == Help()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("new P2 payments", "new needs a priority, a service and a title"),
        ("new P9 payments Title", "priority: 'P9' is not one of P1, P2, P3, P4, P5"),
        ("new P2 payments " + "x" * 201, "title: String should have at most 200 characters"),
        ("ack", "incident id: '' is not an incident id"),
        ("ack 42", "incident id: '42' is not an incident id"),
        (f"resolve {ID}", "summary: String should have at least 1 character"),
        (f"note {ID}", "text: String should have at least 1 character"),
        ("status nope", "incident id: 'nope'"),
        ("page everyone", "unknown subcommand 'page'"),
    ],
)
def test_a_text_the_models_refuse_is_help_naming_the_field(text: str, problem: str) -> None:
    parsed = parse(text)
    assert isinstance(parsed, Help) and parsed.problem is not None
    assert parsed.problem.startswith(problem), parsed.problem


def incident(**changes: object) -> Incident:
    at = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
    fields: dict[str, object] = {"incident_id": UUID(ID), "title": "Pool <b>", "service": "pay&ments",
                                 "reporter": "ann", "detected_at": at, "logged_at": at, "updated_at": at,
                                 "priority": Priority.P2, "status": Status.ACKNOWLEDGED}  # fmt: skip
    return Incident.model_validate(fields | changes)


def test_each_outcome_reads_as_one_escaped_sentence() -> None:
    accepted = Accepted(UUID(ID), incident().model_dump_json(), 3, created=False)
    assert replies.outcome("acknowledged", UUID(ID), accepted) == (
        f"Acknowledged: [P2] Pool &lt;b&gt; (pay&amp;ments), status: acknowledged. Incident {ID}"
    )
    pending = replies.outcome("noted on", UUID(ID), Pending(UUID(int=1)))
    assert "verdict is not in yet" in pending and f"`/incident status {ID}`" in pending
    refused = Refused(InvalidTransition("cannot acknowledge in status <resolved>"), 4)
    assert (
        replies.outcome("acknowledged", UUID(ID), refused) == "Not done: cannot acknowledge in status &lt;resolved&gt;"
    )
    rejected = Rejected(UUID(int=2), conflict=True, reason=None, revision=5)
    assert replies.outcome("resolved", UUID(ID), rejected) == "Not done: the incident log refused it (conflict)"


def test_status_names_team_and_assignee_when_there_are_some() -> None:
    assert replies.status(UUID(ID), None) == f"No incident {ID}."
    shown = replies.status(UUID(ID), incident(team="dba", assignee="carol"))
    assert (
        shown == f"[P2] Pool &lt;b&gt; (pay&amp;ments), status: acknowledged, team: dba, assignee: carol. Incident {ID}"
    )
