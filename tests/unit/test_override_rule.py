"""Who may add an override (take a shift): managers and admins for anyone, a responder for themselves and only in
a schedule they take part in, through a layer or a team it serves (docs/decisions/0085). One rule,
`permissions.authorize`, asked by the API route and the console alike; `may_add_override` is the same rule asked
without an override's times (what the console offers)."""

import itertools

import pytest

from incidents_shared.domain import directory as d
from incidents_shared.domain.directory.permissions import Grant, authorize, in_schedule, may_add_override
from incidents_shared.domain.enums import Role
from incidents_shared.domain.errors import Forbidden
from tests.unit.test_directory import BASE, T0, override, rota, run, team, user

# ann and bob: the rota's layer (and team ops); dan: team night-ops, which the rota serves, in no layer;
# eve: team dba, with no schedule; cid: the night schedule's layer only.
STATE = run(
    (
        *BASE,
        d.CreateUser(user=user("dan")),
        d.CreateUser(user=user("eve")),
        d.CreateTeam(team=team("night-ops", ("dan",), schedule="rota")),
        d.CreateTeam(team=team("dba", ("eve",))),
        d.CreateSchedule(schedule=rota("night", ("cid",))),
    )
)[0]
PEOPLE = ("ann", "bob", "cid", "dan", "eve")


def take(who: str, schedule_id: str = "rota") -> d.AddOverride:
    return d.AddOverride(schedule_id=schedule_id, override=override(who, 1, 2))


def grant(command: d.DirectoryCommand, caller: str, role: Role) -> Grant | None:
    try:
        return authorize(STATE, command, caller, role)
    except Forbidden:
        return None


def test_a_responder_takes_a_shift_in_a_schedule_whose_layer_includes_them() -> None:
    assert grant(take("ann"), "ann", Role.RESPONDER) is Grant.SELF


def test_a_responder_takes_a_shift_in_the_schedule_of_their_team() -> None:
    assert in_schedule(STATE, "rota", "dan")
    assert grant(take("dan"), "dan", Role.RESPONDER) is Grant.SELF


@pytest.mark.parametrize(("caller", "schedule_id"), [("cid", "rota"), ("eve", "rota"), ("ann", "night")])
def test_a_responder_outside_the_schedule_is_refused(caller: str, schedule_id: str) -> None:
    with pytest.raises(Forbidden, match="may not AddOverride"):
        authorize(STATE, take(caller, schedule_id), caller, Role.RESPONDER)


def test_a_responder_may_not_put_someone_else_on_call_even_in_their_own_schedule() -> None:
    assert grant(take("bob"), "ann", Role.RESPONDER) is None


def test_an_unknown_schedule_includes_nobody() -> None:
    assert not in_schedule(STATE, "nowhere", "ann")
    assert grant(take("ann", "nowhere"), "ann", Role.RESPONDER) is None
    assert grant(take("ann", "nowhere"), "mia", Role.MANAGER) is Grant.ROLE  # decide then says: no such schedule


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
def test_managers_and_admins_override_for_anyone_in_any_schedule(role: Role) -> None:
    for who, schedule_id in itertools.product(PEOPLE, ("rota", "night")):
        assert grant(take(who, schedule_id), "mia", role) is Grant.ROLE


@pytest.mark.parametrize("role", [Role.REPORTER, Role.AUDITOR])
def test_readers_take_no_shift_even_in_their_own_schedule(role: Role) -> None:
    assert grant(take("ann"), "ann", role) is None


def test_a_responder_still_removes_their_own_override_after_leaving_the_schedule() -> None:
    removal = d.RemoveOverride(schedule_id="night", user="ann", start=T0)  # nothing to strand: only their own
    assert grant(removal, "ann", Role.RESPONDER) is Grant.SELF


def test_what_the_console_offers_is_what_authorize_allows() -> None:
    for caller, who, schedule_id, role in itertools.product(PEOPLE, PEOPLE, ("rota", "night", "nowhere"), Role):
        allowed = grant(take(who, schedule_id), caller, role) is not None
        assert may_add_override(STATE, schedule_id, who, caller, role) is allowed, (caller, who, schedule_id, role)
