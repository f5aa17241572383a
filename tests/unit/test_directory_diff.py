"""`incidentctl directory apply`'s pure parts: the file, the diff, the order of the commands, the local check."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from incidentctl.directory_api import request_of
from incidentctl.directory_diff import Action, Phase, check, diff, idempotency_key, render, summary
from incidentctl.directory_doc import Directory, InvalidDirectory, parse_directory
from incidentctl.directory_file import dump_yaml, load_file, parse_yaml
from incidents_shared.domain import directory as d
from incidents_shared.domain.directory.model import Kind

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "directory.yaml"
NOW = datetime(2027, 1, 4, 12, tzinfo=UTC)


def user(uid: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": uid,
        "name": uid.title(),
        "email": f"{uid}@example.com",
        "time_zone": "Europe/Amsterdam",
        "role": "responder",
        **fields,
    }


def schedule(sid: str, users: list[str], **fields: Any) -> dict[str, Any]:
    layer = {"name": "weekly", "start": "2027-01-04T09:00:00", "turn": "P1W", "users": users}
    return {"id": sid, "name": sid, "time_zone": "Europe/Amsterdam", "layers": [layer], **fields}


def override(who: str, start: str, end: str) -> dict[str, str]:
    return {"user": who, "start": start, "end": end}


def base(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "users": [user("ann"), user("bob")],
        "schedules": [schedule("pay", ["ann", "bob"])],
        "teams": [{"id": "payments", "name": "Payments", "members": ["ann", "bob"], "schedule": "pay"}],
        "services": [{"id": "checkout", "name": "Checkout", "owner_team": "payments"}],
    }
    return document | changes


def problems(text: str) -> list[str]:
    with pytest.raises(InvalidDirectory) as caught:
        parse_yaml(text)
    return [f"{p.path}: {p.message}" for p in caught.value.problems]


# --- the file ---------------------------------------------------------------------------------------------------


def test_the_example_creates_everything_on_an_empty_directory_users_first_overrides_last() -> None:
    example, _ = load_file(EXAMPLE)
    assert example.counts() == {"users": 5, "teams": 2, "services": 4, "schedules": 2}
    plan = diff(Directory(), example)
    kinds = [type(step.command).__name__ for step in plan.steps()]
    assert kinds == [
        *["CreateUser"] * 5,
        *["CreateSchedule"] * 2,
        *["CreateTeam"] * 2,
        *["CreateService"] * 4,
        "AddOverride",
    ]
    assert check(Directory(), plan, NOW) is None
    assert summary(plan) == "14 to create, 0 to change, 0 to delete, 0 unchanged"


def test_the_example_names_the_services_of_the_tour_and_the_default_team() -> None:
    example, _ = load_file(EXAMPLE)
    services = example.table(Kind.SERVICE)
    assert {"checkout", "payments"} <= set(services)
    assert "platform" in example.table(Kind.TEAM)
    for resource in example.table(Kind.USER).values():
        assert isinstance(resource, d.User)
        kinds = [(m.kind.value, m.delay.total_seconds()) for m in resource.contact_methods]
        assert kinds == [("webhook", 0), ("email", 300)]
        assert resource.contact_methods[0].address == f"http://127.0.0.1:9000/pages/{resource.id}"


def test_yaml_scalars_follow_the_core_schema_so_wall_clock_times_and_names_stay_text() -> None:
    directory = parse_yaml(
        """
users: [{id: no, name: No, email: no@example.com, time_zone: UTC, role: responder}]
schedules:
  - id: s
    name: S
    time_zone: UTC
    layers:
      - {name: nights, start: 2027-01-04T18:00:00, turn: P1D, users: [no],
         restrictions: [{kind: daily, start: 18:00, end: 06:30}]}
"""
    )
    found = directory.schedule("s")
    assert found is not None
    assert "no" in directory.table(Kind.USER)  # YAML 1.1 reads no as false
    restriction = found.layers[0].restrictions[0]
    assert (restriction.start.hour, restriction.end.hour, restriction.end.minute) == (18, 6, 30)  # not 1080 (base 60)


def test_bad_files_name_every_field_at_fault() -> None:
    bad = base(users=[user("ann", time_zone="Mars/Olympus"), user("Bob")])
    assert problems(yaml.safe_dump(bad)) == [
        "users.0.time_zone: unknown time zone 'Mars/Olympus' (use an IANA name like Europe/Amsterdam)",
        "users.1.id: 'Bob' is not an id: 1-64 of lowercase letters, digits, '-', '.', '_'",
    ]
    methods = [{"kind": "webhook", "address": "not a url"}]
    assert problems(yaml.safe_dump(base(users=[user("ann", contact_methods=methods)]))) == [
        "users.0.contact_methods.0: address: 'not a url' is not an http(s) URL (for a webhook contact method)"
    ]
    assert problems("teams:\n  - {id: t, name: T, colour: red}\n") == ["teams.0.colour: Extra inputs are not permitted"]
    assert problems("people: []\n") == ["people: Extra inputs are not permitted"]
    assert problems("- just\n- a list\n") == ["(top level): must be a mapping of users, teams, services, schedules"]


def test_repeated_ids_overrides_and_keys_are_errors_not_the_last_one_winning() -> None:
    assert problems(yaml.safe_dump(base(users=[user("ann"), user("bob"), user("ann")]))) == [
        "users.2.id: repeated id 'ann' (first at users.0)"
    ]
    twice = [override("ann", "2027-02-01T00:00:00Z", "2027-02-02T00:00:00Z")] * 2
    found = problems(yaml.safe_dump(base(schedules=[schedule("pay", ["ann"], overrides=twice)])))
    assert found == ["schedules.0.overrides.1: repeated override of 'ann' from 2027-02-01 00:00:00+00:00"]
    assert problems("users:\n  - id: ann\n    id: bob\n") == [
        "3:5: not valid YAML: key 'id' is given twice in this mapping"
    ]
    assert problems("users: [\n")[0].startswith("2:1: not valid YAML")


# --- the diff ---------------------------------------------------------------------------------------------------


def test_formatting_order_and_spelled_out_defaults_are_no_change() -> None:
    current = parse_directory(
        base(users=[user("ann", contact_methods=[{"kind": "slack", "address": "#ops"}]), user("bob")])
    )
    spelled_out = base(
        users=[
            user("bob", contact_methods=[]),
            user("ann", contact_methods=[{"kind": "slack", "address": "#ops", "delay": "PT0S"}]),
        ],
        teams=[{"id": "payments", "name": "Payments", "members": ["ann", "bob"], "schedule": "pay", "policy": None}],
        services=[{"id": "checkout", "name": "Checkout", "owner_team": "payments", "tier": None}],
    )
    plan = diff(current, parse_yaml(yaml.safe_dump(spelled_out, default_flow_style=True)))
    assert plan.changes == ()
    assert summary(plan) == "no changes, 5 unchanged"


def test_a_change_shows_each_field_before_and_after() -> None:
    methods = [{"kind": "webhook", "address": "http://h/ann"}, {"kind": "email", "address": "a@x.io", "delay": "5m"}]
    current = parse_directory(base(users=[user("ann", contact_methods=methods), user("bob")]))
    later = [methods[0], {**methods[1], "delay": "10m"}]
    desired = parse_directory(
        base(
            users=[user("ann", contact_methods=later, email="ann@new.example"), user("bob")],
            teams=[{"id": "payments", "name": "Payments", "members": ["ann"], "schedule": "pay"}],
        )
    )
    plan = diff(current, desired)
    assert render(plan) == [
        "~ user ann",
        '    email: "ann@example.com" -> "ann@new.example"',
        '    contact_methods.1.delay: "PT5M" -> "PT10M"',
        "~ team payments",
        '    members: ["ann", "bob"] -> ["ann"]',
    ]
    assert [type(step.command).__name__ for step in plan.steps()] == ["UpdateUser", "UpdateTeam"]
    assert summary(plan) == "0 to create, 2 to change, 0 to delete, 3 unchanged"


def test_without_prune_what_the_file_does_not_name_is_kept_with_prune_deleted_last_in_reverse_order() -> None:
    current = parse_directory(base())
    only_people = parse_directory({"users": [user("ann"), user("bob")]})
    kept = diff(current, only_people)
    assert kept.changes == ()
    assert summary(kept) == "no changes, 2 unchanged; 3 not in the file left as they are (--prune deletes them)"
    pruned = diff(current, parse_directory({"users": [user("ann")]}), prune=True)
    assert render(pruned) == ["- user bob", "- schedule pay", "- team payments", "- service checkout"]
    order = [(type(s.command).__name__, s.phase) for s in pruned.steps()]
    assert order == [
        ("DeleteService", Phase.DELETE_SERVICE),
        ("DeleteTeam", Phase.DELETE_TEAM),
        ("DeleteSchedule", Phase.DELETE_SCHEDULE),
        ("DeleteUser", Phase.DELETE_USER),
    ]
    assert check(current, pruned, NOW) is None


def test_upserts_go_before_deletes_so_a_team_stops_naming_a_user_before_the_user_goes() -> None:
    current = parse_directory(base())
    desired = base(
        users=[user("ann")],
        schedules=[schedule("pay", ["ann"])],
        teams=[{"id": "payments", "name": "Payments", "members": ["ann"], "schedule": "pay"}],
    )
    plan = diff(current, parse_directory(desired), prune=True)
    assert [type(s.command).__name__ for s in plan.steps()] == ["UpdateSchedule", "UpdateTeam", "DeleteUser"]
    assert check(current, plan, NOW) is None


def test_overrides_are_diffed_one_by_one_a_moved_one_is_removed_before_it_is_added_again() -> None:
    first = override("ann", "2027-02-01T09:00:00+01:00", "2027-02-02T09:00:00+01:00")
    second = override("bob", "2027-02-05T09:00:00Z", "2027-02-06T09:00:00Z")
    third = override("bob", "2027-02-10T09:00:00Z", "2027-02-11T09:00:00Z")
    current = parse_directory(base(schedules=[schedule("pay", ["ann", "bob"], overrides=[first, second, third])]))
    longer = {**second, "end": "2027-02-07T09:00:00Z"}
    new = override("ann", "2027-02-03T09:00:00Z", "2027-02-04T09:00:00Z")
    same_instant = {**first, "start": "2027-02-01T08:00:00Z", "end": "2027-02-02T08:00:00Z"}
    desired = parse_directory(base(schedules=[schedule("pay", ["ann", "bob"], overrides=[new, longer, same_instant])]))
    plan = diff(current, desired, prune=True)
    assert render(plan) == [
        "+ override pay/ann@2027-02-03T09:00:00Z",
        "~ override pay/bob@2027-02-05T09:00:00Z",
        '    end: "2027-02-06T09:00:00.000000Z" -> "2027-02-07T09:00:00.000000Z"',
        "- override pay/bob@2027-02-10T09:00:00Z",
    ]
    order = [(type(s.command).__name__, s.phase) for s in plan.steps()]
    assert order == [
        ("RemoveOverride", Phase.REMOVE_OVERRIDE),
        ("RemoveOverride", Phase.REMOVE_OVERRIDE),
        ("AddOverride", Phase.ADD_OVERRIDE),
        ("AddOverride", Phase.ADD_OVERRIDE),
    ]
    assert check(current, plan, NOW) is None
    assert summary(diff(current, desired)) == (
        "1 to create, 1 to change, 0 to delete, 6 unchanged; 1 not in the file left as they are (--prune deletes them)"
    )


def test_a_schedule_update_leaves_its_overrides_to_their_own_commands() -> None:
    kept = override("ann", "2027-02-01T09:00:00Z", "2027-02-02T09:00:00Z")
    current = parse_directory(base(schedules=[schedule("pay", ["ann", "bob"], overrides=[kept])]))
    desired = parse_directory(base(schedules=[schedule("pay", ["bob", "ann"], name="Pay", overrides=[kept])]))
    plan = diff(current, desired)
    assert render(plan) == [
        "~ schedule pay",
        '    name: "pay" -> "Pay"',
        '    layers.0.users: ["ann", "bob"] -> ["bob", "ann"]',
    ]
    (step,) = plan.steps()
    assert isinstance(step.command, d.UpdateSchedule)
    assert step.command.schedule.overrides == []
    assert request_of(step.command).body is not None
    assert "overrides" not in (request_of(step.command).body or {})


# --- the check before anything is sent --------------------------------------------------------------------------


def test_a_file_the_directory_would_refuse_is_refused_whole_naming_the_field() -> None:
    desired = parse_directory(
        base(teams=[{"id": "payments", "name": "Payments", "members": ["ann", "bob", "zed"], "schedule": "pay"}])
    )
    refusal = check(Directory(), diff(Directory(), desired), NOW)
    assert refusal is not None
    assert (refusal.path, refusal.message) == ("teams.0.members.2", "unknown user 'zed'")


def test_pruning_a_user_the_file_still_names_is_refused() -> None:
    current = parse_directory(base(users=[user("ann"), user("bob"), user("cem")]))
    desired = base(schedules=[schedule("pay", ["ann", "bob", "cem"])])
    refusal = check(current, diff(current, parse_directory(desired), prune=True), NOW)
    assert refusal is not None
    assert refusal.path == "users"
    assert refusal.message == "user 'cem' is still referenced by schedules pay"


def test_an_override_overlapping_one_the_file_keeps_is_refused_at_its_start() -> None:
    existing = override("bob", "2027-02-01T00:00:00Z", "2027-02-03T00:00:00Z")
    current = parse_directory(base(schedules=[schedule("pay", ["ann", "bob"], overrides=[existing])]))
    clash = override("ann", "2027-02-02T00:00:00Z", "2027-02-04T00:00:00Z")
    desired = parse_directory(base(schedules=[schedule("pay", ["ann", "bob"], overrides=[clash])]))
    refusal = check(current, diff(current, desired), NOW)
    assert refusal is not None
    assert refusal.path == "schedules.0.overrides.0.start"
    assert refusal.message.startswith("overlaps the override of 'bob'")


# --- what is sent -----------------------------------------------------------------------------------------------


def test_idempotency_keys_are_the_same_for_a_rerun_and_differ_by_command_file_revision_and_attempt() -> None:
    plan = diff(Directory(), parse_directory(base()))
    commands = [step.command for step in plan.steps()]
    keys = [idempotency_key("file-a", command, None) for command in commands]
    assert keys == [idempotency_key("file-a", command, None) for command in commands]
    assert len(set(keys)) == len(keys)
    assert idempotency_key("file-b", commands[0], None) != keys[0]
    assert idempotency_key("file-a", commands[0], '"7"') != keys[0]
    assert idempotency_key("file-a", commands[0], '"7"') != idempotency_key("file-a", commands[0], '"8"')
    assert idempotency_key("file-a", commands[0], None, attempt=1) != keys[0]
    assert all(key.startswith("dir-") and len(key) <= 200 for key in keys)  # the API takes up to 200


def test_requests_carry_the_body_and_name_the_resource_whose_revision_if_match_sends() -> None:
    example, _ = load_file(EXAMPLE)
    pay = example.schedule("payments-oncall")
    assert pay is not None
    requests = [request_of(step.command) for step in diff(Directory(), example).steps()]
    assert (requests[0].method, requests[0].path, requests[0].resource) == ("POST", "/v1/users", None)
    assert requests[0].body is not None
    assert requests[0].body["contact_methods"][1] == {"kind": "email", "address": "ann@example.com", "delay": "PT5M"}
    add = requests[-1]
    assert (add.method, add.path, add.resource) == (
        "POST",
        "/v1/schedules/payments-oncall/overrides",
        (Kind.SCHEDULE, "payments-oncall"),
    )
    assert add.body == pay.overrides[0].model_dump(mode="json")
    update = request_of(d.UpdateTeam(team=d.Team(id="payments", name="P")))
    delete = request_of(d.DeleteService(id="checkout"))
    assert (update.method, update.path, update.resource) == ("PUT", "/v1/teams/payments", (Kind.TEAM, "payments"))
    assert (delete.method, delete.path, delete.body) == ("DELETE", "/v1/services/checkout", None)


def test_export_writes_the_format_apply_reads_so_the_round_trip_changes_nothing() -> None:
    example, _ = load_file(EXAMPLE)
    text = dump_yaml(example)
    again = parse_yaml(text)
    assert diff(example, again).changes == ()
    assert diff(example, again).unchanged == 14
    assert dump_yaml(again) == text
    assert "delay: PT5M" in text
    assert "start: '19:00:00'" in text  # quoted: YAML 1.1 readers would take 19:00 for a number


def test_a_plan_names_each_action_once_per_resource() -> None:
    plan = diff(parse_directory(base()), parse_directory(base(users=[user("ann"), user("bob"), user("cem")])))
    assert [(c.kind, c.key, c.action) for c in plan.changes] == [(Kind.USER, "cem", Action.CREATE)]
