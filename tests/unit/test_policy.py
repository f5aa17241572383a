"""Policies: validation that points at lines, evaluation of targets, steps and overrides, and versioning."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from incidents_shared.domain.enums import Priority
from incidents_shared.policy_file import PolicyError, load_policy_file, parse_policy

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # a Wednesday
GOOD = """\
id: demo
version: 3
channels:
  hook: {kind: webhook, url: "${HOOK_BASE:-http://127.0.0.1:9}/x"}
teams:
  leads: {channels: [hook]}
  heads: {channels: [hook]}
  security: {channels: [hook]}
priorities:
  P1:
    acknowledge: 5m
    resolve: 1h
    steps:
      - {after: 5m, level: 2, team: leads}
      - {after: 10m, level: 3, team: heads}
    repeat: {times: 2, every: 10m}
overrides:
  - match: {category: security}
    teams: {2: security}
"""


def test_the_shipped_policies_are_valid() -> None:
    for name in ("default", "fast-demo"):
        policy = load_policy_file(ROOT / "examples" / "policies" / f"{name}.yaml", {})
        assert policy.id == name and set(policy.priorities) == set(Priority)


def test_targets_steps_and_repeats() -> None:
    policy = parse_policy(GOOD, "good.yaml", {})
    assert policy.targets(Priority.P1, START) == (START + timedelta(minutes=5), START + timedelta(hours=1))
    plan = [(s.level, s.due_at - START, s.target.get("team")) for s in policy.schedule(Priority.P1, START)]
    assert plan == [
        (2, timedelta(minutes=5), "leads"),
        (3, timedelta(minutes=10), "heads"),
        (4, timedelta(minutes=20), "heads"),
        (5, timedelta(minutes=30), "heads"),
    ]


def test_overrides_by_category() -> None:
    policy = parse_policy(GOOD, "good.yaml", {})
    assert policy.team_for(2, "leads", "security", "vpn") == "security"
    assert policy.team_for(3, "heads", "security", "vpn") == "heads"
    assert policy.team_for(2, "leads", "network", "vpn") == "leads"


def test_environment_expansion_in_urls() -> None:
    policy = parse_policy(GOOD, "good.yaml", {"HOOK_BASE": "http://10.0.0.1:80"})
    assert policy.channels["hook"].url == "http://10.0.0.1:80/x"


def test_channel_urls_do_not_change_the_content_hash_but_targets_do() -> None:
    base = parse_policy(GOOD, "good.yaml", {})
    moved = parse_policy(GOOD, "good.yaml", {"HOOK_BASE": "http://10.0.0.1:80"})
    slower = parse_policy(GOOD.replace("acknowledge: 5m", "acknowledge: 6m"), "good.yaml", {})
    assert base.content_hash() == moved.content_hash() != slower.content_hash()


@pytest.mark.parametrize(
    ("change", "line", "says"),
    [
        (("acknowledge: 5m", "acknowledge: soon"), 11, "is not a duration"),
        (("level: 3, team: heads", "level: 3, team: heads, user: ann"), 15, "one of team, schedule or user"),
        (("level: 3, team: heads", "level: 0, team: heads"), 15, "greater than or equal to 1"),
        (("kind: webhook", "kind: pager"), 4, "'webhook', 'slack' or 'email'"),
        (("version: 3", "version: 0"), 2, "greater than or equal to 1"),
        (("version: 3", "version: 3\nstakeholders: {all: [ghosts]}"), 3, "unknown channel 'ghosts'"),
        (("P1:", "P9:"), 10, "Input should be 'P1'"),
    ],
)
def test_errors_point_at_the_line(change: tuple[str, str], line: int, says: str) -> None:
    with pytest.raises(PolicyError) as error:
        parse_policy(GOOD.replace(*change), "policy.yaml", {})
    assert f"policy.yaml line {line} " in str(error.value) and says in str(error.value)


def test_steps_may_page_the_owning_team_a_schedule_a_user_or_a_team_only_the_directory_knows() -> None:
    text = GOOD.replace(
        "      - {after: 5m, level: 2, team: leads}",
        "      - {after: 0s, level: 1}\n      - {after: 1m, level: 2, schedule: dba-primary}\n"
        "      - {after: 2m, level: 3, user: ann}\n      - {after: 5m, level: 4, team: payments}",
    ).replace("level: 3, team: heads", "level: 5, team: heads")
    policy = parse_policy(text, "policy.yaml", {})
    plan = [(s.level, s.due_at - START, s.target) for s in policy.schedule(Priority.P1, START)][:5]
    assert plan == [
        (1, timedelta(0), {}),
        (2, timedelta(minutes=1), {"schedule": "dba-primary"}),
        (3, timedelta(minutes=2), {"user": "ann"}),
        (4, timedelta(minutes=5), {"team": "payments"}),
        (5, timedelta(minutes=10), {"team": "heads"}),
    ]


def test_yaml_syntax_errors_name_the_line() -> None:
    with pytest.raises(PolicyError, match=r"bad.yaml: line 4: not valid YAML"):
        parse_policy("id: x\nversion: 1\npriorities: [\n", "bad.yaml", {})


def test_a_missing_variable_without_default_is_an_error() -> None:
    text = GOOD.replace("${HOOK_BASE:-http://127.0.0.1:9}", "${HOOK_BASE}")
    with pytest.raises(PolicyError, match=r"line 4 .*HOOK_BASE is not set"):
        parse_policy(text, "policy.yaml", {})


def test_unknown_time_zone_is_refused() -> None:
    text = GOOD + 'calendars:\n  c: {timezone: Mars/Olympus, days: [mon], opens: "09:00", closes: "17:00"}\n'
    with pytest.raises(PolicyError, match=r"line 21 .*unknown time zone"):
        parse_policy(text, "policy.yaml", {})


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"nope.yaml: cannot read"):
        load_policy_file(tmp_path / "nope.yaml", {})
