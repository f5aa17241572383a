"""The directory's domain: validation, given/when/then for every rule, fold as_of, routing, and a property."""

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from incidents_shared.domain import directory as d
from incidents_shared.domain.directory.errors import (
    DirectoryError,
    InvalidDirectoryChange,
    InvalidOverride,
    ResourceExists,
    ResourceNotFound,
    RevisionConflict,
    StillReferenced,
    UnknownReference,
)
from incidents_shared.domain.directory.rules import RULES, schedule_users
from incidents_shared.domain.enums import ActorKind
from incidents_shared.domain.errors import UndecodableEvent
from incidents_shared.domain.events import Actor
from incidents_shared.domain.oncall import OnCall, Override, Schedule

NAMESPACE = UUID("0b8e6f0e-3c1d-4f47-9d55-5f2f3b9a6c01")
T0 = datetime(2027, 1, 4, 12, tzinfo=UTC)
ADMIN = Actor(id="alice", kind=ActorKind.USER, role="admin")


class Metas:
    """Deterministic command ids and a clock one minute per command."""

    def __init__(self) -> None:
        self._counter = itertools.count()

    def __call__(self, expected_revision: int | None = None) -> d.DirectoryMeta:
        n = next(self._counter)
        return d.DirectoryMeta(
            command_id=uuid5(NAMESPACE, f"command-{n}"),
            actor=ADMIN,
            now=T0 + timedelta(minutes=n),
            correlation_id=f"correlation-{n}",
            expected_revision=expected_revision,
        )


def user(user_id: str, **change: Any) -> d.User:
    body = {"id": user_id, "name": user_id.title(), "email": f"{user_id}@example.com"}
    return d.User.model_validate(body | {"time_zone": "Europe/Amsterdam", "role": "responder"} | change)


def team(team_id: str = "ops", members: tuple[str, ...] = ("ann", "bob"), schedule: str | None = None) -> d.Team:
    return d.Team(id=team_id, name=team_id.upper(), members=list(members), schedule=schedule)


def rota(schedule_id: str = "rota", users: tuple[str, ...] = ("ann", "bob")) -> Schedule:
    layer = {"name": "primary", "start": "2027-01-04T09:00", "turn": "P1D", "users": list(users)}
    return Schedule.model_validate(
        {"id": schedule_id, "name": "Rota", "time_zone": "Europe/Amsterdam", "layers": [layer]}
    )


def override(who: str, start_hours: float, end_hours: float) -> Override:
    return Override(user=who, start=T0 + timedelta(hours=start_hours), end=T0 + timedelta(hours=end_hours))


def run(
    commands: tuple[d.DirectoryCommand, ...], metas: Metas | None = None
) -> tuple[d.DirectoryState, list[d.AnyDirectoryEvent]]:
    metas, state, log = metas or Metas(), d.DirectoryState(), list[d.AnyDirectoryEvent]()
    for command in commands:
        for event in d.decide(state, command, metas()):
            state = d.evolve(state, event)
            log.append(event)
    return state, log


PAGE_ANN = [{"kind": "email", "address": "ann@example.com"}, {"kind": "slack", "address": "@ann", "delay": "5m"}]
BASE = (
    d.CreateUser(user=user("ann", contact_methods=PAGE_ANN)),
    d.CreateUser(user=user("bob")),
    d.CreateUser(user=user("cid")),
    d.CreateSchedule(schedule=rota()),
    d.CreateTeam(team=team(schedule="rota")),
    d.CreateService(service=d.Service(id="checkout", name="Checkout", owner_team="ops", tier=1)),
)


def base() -> d.DirectoryState:
    return run(BASE)[0]


def refused(state: d.DirectoryState, command: d.DirectoryCommand, expected_revision: int | None = None) -> Any:
    with pytest.raises(DirectoryError) as caught:
        d.decide(state, command, Metas()(expected_revision))
    return caught.value


def on_call(state: d.DirectoryState, team_id: str, at: datetime) -> OnCall:
    answer = d.oncall_for_team(state, team_id, at)
    assert answer is not None
    return answer


def locs(cls: type[Any], body: dict[str, Any]) -> list[tuple[str | int, ...]]:
    with pytest.raises(ValidationError) as caught:
        cls.model_validate(body)
    return [tuple(error["loc"]) for error in caught.value.errors()]


# --- resources validate their fields ----------------------------------------------------------------------------

USER = {"id": "ann", "name": "Ann", "email": "ann@example.com", "time_zone": "Europe/Amsterdam", "role": "responder"}


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"id": "Ann Smith"}, ("id",)),
        ({"id": "x" * 65}, ("id",)),
        ({"time_zone": "Mars/Olympus"}, ("time_zone",)),
        ({"time_zone": "Europe"}, ("time_zone",)),  # a directory of the zone database, not a zone
        ({"time_zone": "x" * 300}, ("time_zone",)),
        ({"role": "overlord"}, ("role",)),
        ({"email": "ann"}, ("email",)),
        ({"contact_methods": [{"kind": "pager", "address": "1"}]}, ("contact_methods", 0, "kind")),
        ({"contact_methods": [{"kind": "email", "address": "nope"}]}, ("contact_methods", 0)),
        ({"contact_methods": [{"kind": "webhook", "address": "ftp://x"}]}, ("contact_methods", 0)),
        ({"contact_methods": [{"kind": "slack", "address": "@ann", "delay": "soon"}]}, ("contact_methods", 0, "delay")),
        (
            {"contact_methods": [{"kind": "slack", "address": "@ann", "delay": "-PT1M"}]},
            ("contact_methods", 0, "delay"),
        ),
        ({"colour": "red"}, ("colour",)),
    ],
)
def test_a_bad_user_names_the_field(change: dict[str, Any], loc: tuple[str | int, ...]) -> None:
    assert loc in locs(d.User, USER | change)


def test_contact_methods_keep_their_order_and_take_both_duration_forms() -> None:
    methods = [
        {"kind": "email", "address": "ann@example.com"},
        {"kind": "slack", "address": "@ann", "delay": "5m"},
        {"kind": "webhook", "address": "https://hooks.example.com/ann", "delay": "PT1H30M"},
    ]
    found = d.User.model_validate(USER | {"contact_methods": methods}).contact_methods
    assert [(m.kind, m.delay) for m in found] == [
        (d.ContactKind.EMAIL, timedelta(0)),
        (d.ContactKind.SLACK, timedelta(minutes=5)),
        (d.ContactKind.WEBHOOK, timedelta(hours=1, minutes=30)),
    ]
    with pytest.raises(ValidationError, match="contact_methods: delays must not decrease"):
        d.User.model_validate(USER | {"contact_methods": list(reversed(methods))})


def test_teams_services_and_schedule_ids_validate_their_fields() -> None:
    with pytest.raises(ValidationError, match="members: repeated ann"):
        d.Team(id="ops", name="Ops", members=["ann", "ann"])
    with pytest.raises(ValidationError, match="id: 'Night Shift' is not an id"):
        d.CreateSchedule(schedule=rota("Night Shift"))
    assert locs(d.Service, {"id": "web", "name": "Web", "owner_team": "ops", "tier": 5}) == [("tier",)]
    assert locs(d.Service, {"id": "web", "name": "Web", "owner_team": "ops", "runbook_url": "wiki"}) == [
        ("runbook_url",)
    ]
    assert locs(d.CreateSchedule, {"schedule": rota("Night Shift").model_dump()}) == [("schedule",)]
    layer = {"name": "night\x00", "start": "2027-01-04T09:00", "turn": "P1D", "users": ["ann"]}
    unstorable = rota().model_dump() | {"layers": [layer]}
    with pytest.raises(ValidationError, match="NUL characters are not allowed"):
        d.CreateSchedule.model_validate({"schedule": unstorable})
    ancient = {"user": "ann", "start": "0217-09-24T12:05:18+23:29", "end": "1972-08-26T15:05:44Z"}
    with pytest.raises(ValidationError, match="start: must lie between 1970 and 9998"):
        d.AddOverride.model_validate({"schedule_id": "rota", "override": ancient})
    inverted = {"user": "ann", "start": "2027-01-05T10:00Z", "end": "2027-01-05T09:00Z"}
    assert locs(d.AddOverride, {"schedule_id": "rota", "override": inverted}) == [("override", "end")]


# --- given / when / then ----------------------------------------------------------------------------------------


def test_a_command_becomes_one_event_with_a_deterministic_id_and_the_envelope() -> None:
    meta = Metas()(expected_revision=0)
    [event] = d.decide(d.DirectoryState(), d.CreateUser(user=user("ann")), meta)
    assert isinstance(event, d.events.UserCreated)
    assert (event.event_id, event.type, event.actor, event.expected_revision) == (
        uuid5(meta.command_id, "0"),
        "directory.user_created",
        ADMIN,
        0,
    )
    assert d.decide(d.DirectoryState(), d.CreateUser(user=user("ann")), meta) == [event]
    assert d.decode(event.model_dump_json()) == event


def test_every_event_type_has_a_rule_and_decodes_through_the_union() -> None:
    _, log = run((*BASE, d.AddOverride(schedule_id="rota", override=override("cid", 1, 2))))
    assert set(RULES) == set(d.DIRECTORY_EVENT_CLASSES)
    assert [d.decode(event.model_dump_json()) for event in log] == log
    with pytest.raises(UndecodableEvent):
        d.decode('{"type": "directory.user_renamed"}')


@pytest.mark.parametrize(
    ("command", "loc", "kind", "missing"),
    [
        (d.CreateTeam(team=team("dba", ("ann", "zed"))), ("members", 1), "user", "zed"),
        (d.CreateTeam(team=team("dba", schedule="night")), ("schedule",), "schedule", "night"),
        (d.UpdateTeam(team=team(schedule="night")), ("schedule",), "schedule", "night"),
        (d.CreateSchedule(schedule=rota("night", ("ann", "zed"))), ("layers", 0, "users", 1), "user", "zed"),
        (d.AddOverride(schedule_id="rota", override=override("zed", 1, 2)), ("user",), "user", "zed"),
        (d.CreateService(service=d.Service(id="db", name="DB", owner_team="dba")), ("owner_team",), "team", "dba"),
    ],
)
def test_an_unknown_reference_is_refused_naming_the_field(
    command: d.DirectoryCommand, loc: tuple[str | int, ...], kind: str, missing: str
) -> None:
    error = refused(base(), command)
    assert isinstance(error, UnknownReference)
    assert (error.loc, error.kind, error.resource_id) == (loc, kind, missing)
    assert str(error).startswith(f"{error.field}: unknown {kind} {missing!r}")


@pytest.mark.parametrize("command", BASE)
def test_a_create_of_an_existing_id_is_refused(command: d.DirectoryCommand) -> None:
    error = refused(base(), command)
    assert isinstance(error, ResourceExists)
    assert error.field == "id"


@pytest.mark.parametrize(
    ("command", "kind"),
    [
        (d.UpdateUser(user=user("zed")), "user"),
        (d.DeleteUser(id="zed"), "user"),
        (d.UpdateTeam(team=team("dba")), "team"),
        (d.DeleteTeam(id="dba"), "team"),
        (d.UpdateService(service=d.Service(id="db", name="DB", owner_team="ops")), "service"),
        (d.DeleteService(id="db"), "service"),
        (d.UpdateSchedule(schedule=rota("night")), "schedule"),
        (d.DeleteSchedule(id="night"), "schedule"),
        (d.AddOverride(schedule_id="night", override=override("ann", 1, 2)), "schedule"),
        (d.RemoveOverride(schedule_id="night", user="ann", start=T0), "schedule"),
    ],
)
def test_a_change_of_an_id_that_does_not_exist_is_refused(command: d.DirectoryCommand, kind: str) -> None:
    error = refused(base(), command)
    assert isinstance(error, ResourceNotFound)
    assert (error.kind, error.field) == (kind, "id")


def test_if_match_must_name_the_current_revision() -> None:
    state = base()
    error = refused(state, d.UpdateUser(user=user("ann", name="Ann B")), expected_revision=3)
    assert isinstance(error, RevisionConflict)
    assert (error.expected, error.current) == (3, 1)
    [event] = d.decide(state, d.UpdateUser(user=user("ann", name="Ann B")), Metas()(expected_revision=1))
    assert d.evolve(state, event).revision(d.Kind.USER, "ann") == 2


def test_deleting_a_user_still_in_a_team_or_schedule_names_them() -> None:
    state = run((*BASE, d.AddOverride(schedule_id="rota", override=override("cid", 1, 2))))[0]
    error = refused(state, d.DeleteUser(id="ann"))
    assert isinstance(error, StillReferenced)
    assert error.by == {"teams": ("ops",), "schedules": ("rota",)}
    assert "teams ops; schedules rota" in str(error)
    only_override = refused(state, d.DeleteUser(id="cid"))
    assert only_override.by == {"schedules": ("rota",)}


def test_deleting_a_team_that_owns_services_or_a_schedule_a_team_uses_names_them() -> None:
    error = refused(base(), d.DeleteTeam(id="ops"))
    assert isinstance(error, StillReferenced)
    assert error.by == {"services": ("checkout",)}
    assert refused(base(), d.DeleteSchedule(id="rota")).by == {"teams": ("ops",)}


def test_deletes_in_dependency_order_are_accepted_and_revisions_go_on() -> None:
    undo = (d.DeleteService(id="checkout"), d.DeleteTeam(id="ops"), d.DeleteSchedule(id="rota"), d.DeleteUser(id="ann"))
    state = run((*BASE, *undo, d.CreateUser(user=user("ann"))))[0]
    assert set(state.users) == {"ann", "bob", "cid"} and not state.teams and not state.schedules
    assert state.revision(d.Kind.USER, "ann") == 3  # created, deleted, created: an old If-Match never matches


def test_an_overlapping_or_inverted_override_is_refused() -> None:
    state = run((*BASE, d.AddOverride(schedule_id="rota", override=override("cid", 1, 3))))[0]
    error = refused(state, d.AddOverride(schedule_id="rota", override=override("bob", 2, 4)))
    assert isinstance(error, InvalidOverride)
    assert error.field == "start" and "overlaps the override of 'cid'" in str(error)
    adjacent = d.AddOverride(schedule_id="rota", override=override("bob", 3, 4))
    assert d.decide(state, adjacent, Metas()())
    inverted = Override.model_construct(user="bob", start=T0 + timedelta(hours=6), end=T0 + timedelta(hours=5))
    error = refused(state, d.AddOverride.model_construct(schedule_id="rota", override=inverted))
    assert isinstance(error, InvalidOverride) and error.field == "end"


def test_overrides_have_their_own_commands_and_survive_a_schedule_update() -> None:
    added = d.AddOverride(schedule_id="rota", override=override("cid", 1, 3))
    inline = rota().model_copy(update={"overrides": [override("cid", 1, 3)]})
    error = refused(base(), d.UpdateSchedule(schedule=inline))
    assert isinstance(error, InvalidDirectoryChange) and error.field == "overrides"
    state = run((*BASE, added, d.UpdateSchedule(schedule=rota(users=("bob",)))))[0]
    assert state.schedules["rota"].overrides == [override("cid", 1, 3)]
    missing = refused(state, d.RemoveOverride(schedule_id="rota", user="bob", start=T0 + timedelta(hours=1)))
    assert isinstance(missing, ResourceNotFound) and missing.field == "start"
    removed = run((*BASE, added, d.RemoveOverride(schedule_id="rota", user="cid", start=T0 + timedelta(hours=1))))
    assert removed[0].schedules["rota"].overrides == []
    assert removed[0].revision(d.Kind.SCHEDULE, "rota") == 3


# --- as of any time, and routing --------------------------------------------------------------------------------


def test_fold_as_of_shows_who_was_on_call_and_who_changed_the_rota() -> None:
    _, log = run((*BASE, d.UpdateSchedule(schedule=rota(users=("cid",)))))
    change = log[-1]
    noon = datetime(2027, 1, 4, 12, tzinfo=UTC)
    before = d.fold(log, as_of=change.occurred_at - timedelta(microseconds=1))
    after = d.fold(log, as_of=change.occurred_at)
    assert on_call(before, "ops", noon).user == "ann"
    assert on_call(after, "ops", noon).user == "cid"
    assert (change.type, change.actor.id) == ("directory.schedule_updated", "alice")
    assert d.fold(log) == after
    assert d.fold(log, as_of=T0 - timedelta(seconds=1)) == d.DirectoryState()


def test_owner_team_routes_a_known_service_and_never_nowhere() -> None:
    state = base()
    assert d.owner_team(state, "checkout", default_team="service-desk") == "ops"
    assert d.owner_team(state, "billing", default_team="service-desk") == "service-desk"


def test_oncall_for_team_is_none_without_a_schedule() -> None:
    state = run((*BASE, d.CreateTeam(team=team("dba", ("cid",)))))[0]
    assert d.oncall_for_team(state, "dba", T0) is None
    assert d.oncall_for_team(state, "nobody", T0) is None
    assert on_call(state, "ops", T0).source == "primary"


# --- property: accepted changes never leave a dangling reference -------------------------------------------------

USERS, TEAMS, SERVICES, SCHEDULES = ["ann", "bob", "cid"], ["ops", "dba"], ["web", "db"], ["rota", "night"]
TOKENS = ["t1", "t2"]
some = st.sampled_from


def _users(unknown: str) -> st.SearchStrategy[tuple[str, ...]]:
    """Users of the pool, now and then with one the directory never holds."""
    known = st.lists(some(USERS), min_size=1, max_size=3, unique=True).map(tuple)
    return st.sampled_from([known, known, known, known.map(lambda users: (*users, unknown))]).flatmap(lambda s: s)


_hours = st.integers(0, 3)


def token(user_id: str, token_id: str, role: str) -> d.IssueToken:
    token_hash = f"{token_id}:{user_id}".encode().hex().ljust(64, "0")  # distinct per (token, user)
    return d.IssueToken(user=user_id, token_id=token_id, token_hash=token_hash, role=role)


_WEIGHTED: list[tuple[int, st.SearchStrategy[d.DirectoryCommand]]] = [
    (4, st.builds(lambda u: d.CreateUser(user=user(u)), some(USERS))),
    (1, st.builds(lambda u: d.UpdateUser(user=user(u, name="Renamed")), some(USERS))),
    (2, st.builds(lambda u: d.DeleteUser(id=u), some(USERS))),
    (
        4,
        st.builds(
            lambda t, members, schedule, cls: cls(team=team(t, members, schedule)),
            some(TEAMS),
            _users("zed"),
            some([None, None, *SCHEDULES, *SCHEDULES, "gone"]),
            some([d.CreateTeam, d.UpdateTeam]),
        ),
    ),
    (1, st.builds(lambda t: d.DeleteTeam(id=t), some(TEAMS))),
    (
        3,
        st.builds(
            lambda s, owner, cls: cls(service=d.Service(id=s, name=s, owner_team=owner)),
            some(SERVICES),
            some([*TEAMS, *TEAMS, "gone"]),
            some([d.CreateService, d.UpdateService]),
        ),
    ),
    (1, st.builds(lambda s: d.DeleteService(id=s), some(SERVICES))),
    (
        4,
        st.builds(
            lambda s, users, cls: cls(schedule=rota(s, users)),
            some(SCHEDULES),
            _users("zed"),
            some([d.CreateSchedule, d.UpdateSchedule]),
        ),
    ),
    (1, st.builds(lambda s: d.DeleteSchedule(id=s), some(SCHEDULES))),
    (
        3,
        st.builds(
            lambda s, u, start, length: d.AddOverride(schedule_id=s, override=override(u, start, start + length)),
            some(SCHEDULES),
            some([*USERS, *USERS, "zed"]),
            _hours,
            st.integers(1, 3),
        ),
    ),
    (
        3,
        st.builds(
            lambda s, u, start: d.RemoveOverride(schedule_id=s, user=u, start=T0 + timedelta(hours=start)),
            some(SCHEDULES),
            some(USERS),
            _hours,
        ),
    ),
    (
        3,
        st.builds(
            token,
            some([*USERS, "zed"]),
            some(TOKENS),
            some(["responder", "responder", "manager"]),
        ),
    ),
    (1, st.builds(lambda u, t: d.RevokeToken(user=u, token_id=t), some(USERS), some(TOKENS))),
]
# sampled_from draws duplicates in proportion (one_of would not weigh them).
COMMANDS = st.sampled_from([strategy for weight, strategy in _WEIGHTED for _ in range(weight)]).flatmap(lambda s: s)

# Mostly no If-Match: a stale one is refused (checked above) and would hide the referential rules.
IF_MATCH = some([*[None] * 8, 0, 1, 2])


def dangling(state: d.DirectoryState) -> list[str]:
    """Every reference to a resource the directory does not hold (written apart from the rules)."""
    found = [f"team {t.id} member {m}" for t in state.teams.values() for m in t.members if m not in state.users]
    found += [
        f"team {t.id} schedule {t.schedule}"
        for t in state.teams.values()
        if t.schedule and t.schedule not in state.schedules
    ]
    found += [
        f"service {s.id} owner {s.owner_team}" for s in state.services.values() if s.owner_team not in state.teams
    ]
    found += [
        f"schedule {s.id} user {u}" for s in state.schedules.values() for u in schedule_users(s) if u not in state.users
    ]
    found += [f"token {t.id} user {t.user}" for t in state.tokens.values() if t.user not in state.users]
    found += [f"token {t.id} role {t.role}" for t in state.tokens.values() if not d.token_holder(state, t.token_hash)]
    return found


def overlapping(schedule: Schedule) -> bool:
    spans = sorted((o.start, o.end) for o in schedule.overrides)
    return any(later[0] < earlier[1] for earlier, later in itertools.pairwise(spans))


# Histories start empty, with people (with tokens or not), with teams, or full: creates and deletes meet references.
_PEOPLE = tuple(d.CreateUser(user=user(u)) for u in USERS)
_TEAMS = (
    *_PEOPLE,
    d.CreateSchedule(schedule=rota("rota", ("ann", "bob"))),
    d.CreateSchedule(schedule=rota("night", ("cid",))),
    d.AddOverride(schedule_id="night", override=override("bob", 1, 3)),
    d.CreateTeam(team=team("ops", ("ann", "bob"), "rota")),
    d.CreateTeam(team=team("dba", ("cid",), "night")),
)
_FULL = (
    *_TEAMS,
    d.CreateService(service=d.Service(id="web", name="Web", owner_team="ops")),
    d.CreateService(service=d.Service(id="db", name="DB", owner_team="dba")),
)
_KEYS = (*_PEOPLE, token("ann", "t1", "responder"), token("bob", "t2", "responder"))
SEEDS: list[tuple[d.DirectoryCommand, ...]] = [(), _PEOPLE, _KEYS, _TEAMS, _FULL]


@settings(max_examples=100, deadline=None)
@given(some(SEEDS), st.lists(st.tuples(COMMANDS, IF_MATCH), min_size=10, max_size=60))
def test_accepted_changes_never_leave_a_dangling_reference(
    seed: tuple[d.DirectoryCommand, ...], steps: list[tuple[d.DirectoryCommand, int | None]]
) -> None:
    metas = Metas()
    state, log = run(seed, metas)
    for command, if_match in steps:
        try:
            events = d.decide(state, command, metas(if_match))
        except DirectoryError:
            continue
        for event in events:
            state = d.evolve(state, event)
            log.append(event)
        assert not dangling(state), dangling(state)
        assert not any(overlapping(schedule) for schedule in state.schedules.values())
    assert d.fold(log) == state
