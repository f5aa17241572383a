"""The console's pure parts: the queue's filters become the read API's query, timeline lines say who did what,
the conflict view lists what changed since the form's revision, CSRF tokens belong to one session."""

from typing import Any

import pytest

from command_api.auth import Principal
from command_api.console import views
from command_api.console.identity import Person
from command_api.console.queue import QueueFilters, Scope
from command_api.console.sessions import csrf_matches, csrf_token
from command_api.console.web import VENDOR_FILES, missing_assets
from command_api.incident_query import IncidentQuery, Sort
from incidents_shared.domain.enums import Role

ANA = Person(Principal("ana", Role.RESPONDER), "Ana", ("db", "web"), "secret")
OPEN = ("acknowledged", "investigating", "new", "on_hold")


def event(type_: str, revision: int, actor: str = "ana", **data: Any) -> dict[str, Any]:
    return {
        "type": type_,
        "revision": revision,
        "occurred_at": "2026-12-01T03:00:00Z",
        "actor": {"id": actor},
        "data": data,
    }


def test_empty_filters_mean_every_open_incident_in_triage_order() -> None:
    query = QueueFilters.model_validate({"q": " ", "priority": "", "service": ""}).query(ANA)
    assert query == IncidentQuery(statuses=OPEN, sort=Sort.PRIORITY, limit=200)


def test_a_status_replaces_open_and_filters_are_the_read_apis_columns() -> None:
    filters = QueueFilters.model_validate(
        {"status": "resolved", "priority": "P1", "service": "pay", "breached": "true"}
    )
    query = filters.query(ANA)
    assert (query.statuses, query.breached) == ((), True)
    assert query.equals == {"status": "resolved", "priority": "P1", "service": "pay"}


@pytest.mark.parametrize(
    ("scope", "equals"), [(Scope.MINE, {"assignee": "ana"}), (Scope.TEAM, {"team": "db"}), (Scope.ALL, {})]
)
def test_scopes(scope: Scope, equals: dict[str, str]) -> None:
    assert QueueFilters(scope=scope).query(ANA).equals == equals


def test_my_teams_scope_without_a_team_shows_nothing_rather_than_everything() -> None:
    loner = Person(Principal("lou", Role.RESPONDER), "Lou", (), "s")
    assert QueueFilters(scope=Scope.TEAM).query(loner).equals["team"] == "\x00none"


def test_open_statuses_are_one_any_condition_in_the_sql() -> None:
    sql, args = IncidentQuery(statuses=OPEN).sql()
    assert "status = ANY($1::text[])" in sql and args[0] == list(OPEN)


def test_timeline_lines_name_the_person_and_what_they_did() -> None:
    names = {"ana": "Ana Lima"}
    note = views.entry(event("incident.note_added", 3, kind="diagnosis", text="<b>pool</b>"), names)
    assert (note.who, note.what, note.details) == (
        "Ana Lima (ana)",
        "added a note",
        (("kind", "diagnosis"), ("text", "<b>pool</b>")),
    )
    paged = views.entry(
        event("incident.paged", 3, actor="escalator", user="ben", reason="step", contact={"kind": "sms"}), names
    )
    assert (paged.who, paged.what, dict(paged.details)) == (
        "escalator",
        "paged",
        {"user": "ben", "reason": "step", "via": "sms"},
    )
    assert views.entry(event("incident.future_thing", 1), {}).what == "incident.future_thing"


def test_changed_since_lists_only_what_moved_the_revision_after_the_form() -> None:
    events = [
        event("incident.logged", 1, title="t"),
        event("incident.acknowledged", 2),
        event("incident.note_added", 3, text="x"),
    ]
    changed = views.changed_since(events, 1, {})
    assert [(c.revision, c.what) for c in changed] == [(2, "acknowledged"), (3, "added a note")]


def test_csrf_tokens_belong_to_their_session() -> None:
    assert csrf_matches("one", csrf_token("one"))
    assert not csrf_matches("two", csrf_token("one")) and not csrf_matches("one", None)
    assert csrf_token("one") != csrf_token("two") and "one" not in csrf_token("one")


def test_the_built_assets_are_there() -> None:
    assert missing_assets() == [], f"run scripts/console-assets.sh to build {VENDOR_FILES}"


def test_the_page_offers_what_the_status_and_the_role_allow() -> None:
    from datetime import UTC, datetime
    from uuid import uuid4

    from command_api.routes.commands import ACTIONS
    from incidents_shared.domain.enums import Status
    from incidents_shared.domain.state import Incident

    at = datetime(2026, 12, 1, tzinfo=UTC)
    new = Incident(
        incident_id=uuid4(), title="t", service="s", reporter="r", detected_at=at, logged_at=at, updated_at=at
    )
    assert {"acknowledge", "notes", "resolve", "declare-major"} <= views.allowed_actions(new, Role.RESPONDER, ACTIONS)
    assert not {"resume", "reopen", "close"} & views.allowed_actions(new, Role.RESPONDER, ACTIONS)
    resolved = new.model_copy(update={"status": Status.RESOLVED, "major": True})
    assert "close" not in views.allowed_actions(resolved, Role.RESPONDER, ACTIONS)
    assert {"close", "reopen"} <= views.allowed_actions(resolved, Role.MANAGER, ACTIONS)
    assert "declare-major" not in views.allowed_actions(
        resolved.model_copy(update={"status": Status.NEW}), Role.MANAGER, ACTIONS
    )
