"""Personal API tokens in the directory, and the table of who may change what."""

import hashlib
from datetime import timedelta
from typing import Any

import pytest

from incidents_shared.domain import directory as d
from incidents_shared.domain.directory.errors import (
    InvalidDirectoryChange,
    ResourceExists,
    ResourceNotFound,
    UnknownReference,
)
from incidents_shared.domain.directory.noise import NOISE_COMMANDS
from incidents_shared.domain.directory.permissions import (
    PERMISSIONS,
    Grant,
    authorize,
    default_token_role,
    may_see_tokens,
    pinned,
    who_may_ever,
)
from incidents_shared.domain.directory.queries import token_holder
from incidents_shared.domain.directory.tokens import ROLE_GRANTS, role_within
from incidents_shared.domain.enums import Role
from incidents_shared.domain.errors import Forbidden
from tests.unit.test_directory import BASE, T0, Metas, override, refused, rota, run, user


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(token_id: str, who: str = "ann", role: str = "responder", secret: str | None = None) -> d.IssueToken:
    return d.IssueToken(user=who, token_id=token_id, token_hash=digest(secret or token_id), role=role, label="laptop")


def with_tokens(*commands: d.DirectoryCommand) -> d.DirectoryState:
    return run((*BASE, *commands))[0]


def test_an_issued_token_acts_as_its_user_with_its_role_and_only_its_hash_is_kept() -> None:
    state, log = run((*BASE, issue("t1", role="reporter", secret="inc_s3cret")))
    token = token_holder(state, digest("inc_s3cret"))
    assert token is not None and (token.id, token.user, token.role, token.label) == ("t1", "ann", "reporter", "laptop")
    assert log[-1].type == "directory.token_issued"
    assert "inc_s3cret" not in log[-1].model_dump_json()
    assert token_holder(state, digest("t1")) is None
    assert d.decode(log[-1].model_dump_json()) == log[-1]


@pytest.mark.parametrize(
    ("user_role", "token_role", "allowed"),
    [
        ("reporter", "reporter", True),
        ("reporter", "responder", False),
        ("responder", "reporter", True),
        ("responder", "manager", False),
        ("manager", "responder", True),
        ("admin", "manager", True),
        ("admin", "auditor", False),
        ("auditor", "auditor", True),
        ("auditor", "reporter", False),
        ("manager", "integration", False),
    ],
)
def test_a_token_role_may_not_exceed_its_user_role(user_role: str, token_role: str, allowed: bool) -> None:
    assert role_within(Role(token_role), Role(user_role)) is allowed
    state = run((d.CreateUser(user=user("eve", role=user_role)),))[0]
    command = issue("t1", who="eve", role=token_role)
    if allowed:
        assert d.decide(state, command, Metas()())
        return
    error = refused(state, command)
    assert isinstance(error, InvalidDirectoryChange) and error.field == "role"
    assert f"{token_role} exceeds the role of 'eve' ({user_role})" in str(error)


def test_roles_nest_and_the_others_stand_alone() -> None:
    assert ROLE_GRANTS[Role.ADMIN] == {Role.REPORTER, Role.RESPONDER, Role.MANAGER, Role.ADMIN}
    assert ROLE_GRANTS[Role.REPORTER] == {Role.REPORTER}
    assert set(ROLE_GRANTS) == set(Role)


def test_a_token_for_an_unknown_user_a_taken_id_or_a_hash_in_use_is_refused() -> None:
    state = with_tokens(issue("t1"))
    unknown = refused(state, issue("t2", who="zed"))
    assert isinstance(unknown, UnknownReference) and unknown.field == "user"
    assert isinstance(refused(state, issue("t1", who="bob")), ResourceExists)
    same_secret = refused(state, issue("t2", who="bob", secret="t1"))
    assert isinstance(same_secret, InvalidDirectoryChange) and same_secret.field == "token_hash"


def test_a_revoked_token_stops_working_and_only_its_user_revokes_it() -> None:
    state = with_tokens(issue("t1"), d.RevokeToken(user="ann", token_id="t1"))
    assert token_holder(state, digest("t1")) is None and "t1" not in state.tokens
    assert state.revision(d.Kind.TOKEN, "t1") == 2
    assert isinstance(refused(state, d.RevokeToken(user="ann", token_id="t1")), ResourceNotFound)
    other = refused(with_tokens(issue("t1")), d.RevokeToken(user="bob", token_id="t1"))
    assert isinstance(other, ResourceNotFound) and other.kind == "token"


def test_a_deleted_user_tokens_die_with_them_and_stay_dead_if_the_id_comes_back() -> None:
    undo = (d.DeleteService(id="checkout"), d.DeleteTeam(id="ops"), d.DeleteSchedule(id="rota"))
    state = with_tokens(issue("t1", who="cid"), issue("t2", who="bob"), *undo, d.DeleteUser(id="cid"))
    assert token_holder(state, digest("t1")) is None and set(state.tokens) == {"t2"}
    again = run((*BASE, issue("t1", who="cid"), *undo, d.DeleteUser(id="cid"), d.CreateUser(user=user("cid"))))[0]
    assert token_holder(again, digest("t1")) is None
    assert isinstance(refused(again, d.RevokeToken(user="cid", token_id="t1")), ResourceNotFound)


def test_a_token_works_only_while_its_user_role_covers_it() -> None:
    promoted = d.UpdateUser(user=user("ann", role="manager"))
    state = with_tokens(promoted, issue("t1", role="manager"), d.UpdateUser(user=user("ann", role="responder")))
    assert "t1" in state.tokens and token_holder(state, digest("t1")) is None


# --- who may change what ------------------------------------------------------------------------------------


def everything() -> list[d.DirectoryCommand]:
    """One command of every kind, about ann (a responder of the base directory)."""
    start = T0 + timedelta(hours=1)
    return [
        d.CreateUser(user=user("dan")),
        d.UpdateUser(user=user("ann", name="Ann B")),
        d.DeleteUser(id="cid"),
        d.CreateTeam(team=d.Team(id="dba", name="DBA")),
        d.UpdateTeam(team=d.Team(id="ops", name="Ops")),
        d.DeleteTeam(id="ops"),
        d.CreateService(service=d.Service(id="db", name="DB", owner_team="ops")),
        d.UpdateService(service=d.Service(id="checkout", name="C", owner_team="ops")),
        d.DeleteService(id="checkout"),
        d.CreateSchedule(schedule=rota("night")),
        d.UpdateSchedule(schedule=rota()),
        d.DeleteSchedule(id="rota"),
        d.AddOverride(schedule_id="rota", override=override("ann", 1, 2)),
        d.RemoveOverride(schedule_id="rota", user="ann", start=start),
        issue("t9"),
        d.RevokeToken(user="ann", token_id="t9"),
    ]


def allowed(command: d.DirectoryCommand, caller: str, role: str) -> Grant | None:
    try:
        return authorize(with_tokens(), command, caller, Role(role))
    except Forbidden:
        return None


def test_the_table_covers_every_command() -> None:
    noise = set(NOISE_COMMANDS)  # maintenance windows and heartbeats: tests/unit/test_maintenance_windows.py
    assert set(PERMISSIONS) == {type(command) for command in everything()} | noise


@pytest.mark.parametrize(
    ("role", "may"),
    [
        ("admin", "all"),
        ("manager", {"Team", "Service", "Schedule", "Override"}),
        ("responder", set()),
        ("reporter", set()),
        ("auditor", set()),
    ],
)
def test_roles_may_change_the_directory_for_anyone_as_the_table_says(role: str, may: Any) -> None:
    caller = "someone-else"  # not ann, so no self-service rule applies
    for command in everything():
        name = type(command).__name__
        expected = may == "all" or any(name.endswith(kind) for kind in may)
        assert (allowed(command, caller, role) is Grant.ROLE) is expected, (role, name)


def test_people_may_change_their_own_profile_overrides_and_tokens() -> None:
    assert allowed(d.UpdateUser(user=user("ann", name="Ann B")), "ann", "reporter") is Grant.SELF
    assert allowed(d.UpdateUser(user=user("ann", role="admin")), "ann", "responder") is None
    assert allowed(d.UpdateUser(user=user("bob", name="Bob B")), "ann", "responder") is None
    covering = d.AddOverride(schedule_id="rota", override=override("ann", 1, 2))
    assert allowed(covering, "ann", "responder") is Grant.SELF
    assert allowed(covering, "ann", "reporter") is None
    assert allowed(d.AddOverride(schedule_id="rota", override=override("bob", 1, 2)), "ann", "responder") is None
    assert allowed(d.RemoveOverride(schedule_id="rota", user="ann", start=T0), "ann", "responder") is Grant.SELF
    assert allowed(issue("t9", role="reporter"), "ann", "reporter") is Grant.SELF
    assert allowed(issue("t9", role="responder"), "ann", "reporter") is None  # no wider than the calling token
    assert allowed(issue("t9", role="responder"), "ann", "responder") is Grant.SELF
    assert allowed(issue("t9", who="bob"), "ann", "manager") is None
    assert allowed(d.RevokeToken(user="ann", token_id="t9"), "ann", "reporter") is Grant.SELF
    assert allowed(d.CreateUser(user=user("ann")), "ann", "manager") is None


def test_a_self_service_profile_change_is_pinned_to_its_revision() -> None:
    update = d.UpdateUser(user=user("ann", name="Ann B"))
    assert pinned(update, Grant.SELF) and not pinned(update, Grant.ROLE)
    assert not pinned(issue("t9"), Grant.SELF)


def test_forbidden_says_who_may() -> None:
    with pytest.raises(Forbidden, match="role responder may not DeleteTeam; allowed: admin, manager"):
        authorize(with_tokens(), d.DeleteTeam(id="ops"), "ann", Role.RESPONDER)


def test_tokens_are_shown_to_their_user_and_to_admins() -> None:
    assert may_see_tokens("ann", Role.REPORTER, "ann")
    assert may_see_tokens("root", Role.ADMIN, "ann")
    assert not may_see_tokens("bob", Role.MANAGER, "ann")


def test_a_token_asked_without_a_role_gets_its_user_role_unless_the_caller_may_grant_less() -> None:
    assert default_token_role(Role.MANAGER, Role.MANAGER) is Role.MANAGER
    assert default_token_role(Role.MANAGER, Role.REPORTER) is Role.REPORTER  # a narrow token mints a narrow one
    assert default_token_role(Role.AUDITOR, Role.ADMIN) is Role.AUDITOR  # an admin gives the user's own role
    assert default_token_role(None, Role.RESPONDER) is Role.RESPONDER


def test_who_may_ever_issue_a_command_bounds_the_roles_the_api_lets_through() -> None:
    assert who_may_ever(d.CreateUser) == {Role.ADMIN}
    assert who_may_ever(d.DeleteTeam) == {Role.MANAGER, Role.ADMIN}
    assert who_may_ever(d.AddOverride) == {Role.RESPONDER, Role.MANAGER, Role.ADMIN}
    assert who_may_ever(d.UpdateUser) == set(Role)
    for command in everything():
        for role in Role:
            if allowed(command, "ann", role.value) is not None:
                assert role in who_may_ever(type(command)), (command, role)
