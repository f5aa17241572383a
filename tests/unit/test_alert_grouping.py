"""Grouping rules for generic and Grafana alerts (0077): the rules in the mapping, which alerts they group and
under which key, the incident a group opens, and the use case against in-memory fakes (one incident per group
within the window, a second after it, re-sends joining, auto-resolve when all resolved)."""

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from command_api.alerts_service import GENERIC, GRAFANA, AlertService
from command_api.outcomes import AlertResult, AlertsHandled
from incidents_shared.domain import alerts as a
from incidents_shared.domain.alert_grouping import group_key, grouped_notice, rule_for, split
from incidents_shared.domain.enums import Priority, Status
from incidents_shared.domain.taxonomy import DEFAULT_TAXONOMY
from tests.unit.builders import T0
from tests.unit.fakes import Fakes
from tests.unit.test_alert_service import ACTOR

RULES: dict[str, Any] = {
    "version": 3,
    "grouping": [
        {"match": {"source": "grafana", "service": "search"}, "by": ["alertname"], "window": "1h"},
        {"match": {"labels": {"env": "prod"}}, "by": ["alertname", "cluster"], "window": "5m"},
    ],
}
MAPPING = a.AlertMapping.model_validate(RULES)


def generic(host: str, status: str = "firing", severity: str = "warning", **labels: str) -> dict[str, Any]:
    return {
        "summary": f"checkout 5xx on {host}",
        "service": "checkout",
        "status": status,
        "severity": severity,
        "labels": {"alertname": "Checkout5xx", "env": "prod", "cluster": "eu", "instance": host, **labels},
    }


def normalized(raw: dict[str, Any]) -> a.NormalizedAlert:
    return a.normalize_generic(a.GenericAlert.model_validate(raw), MAPPING, DEFAULT_TAXONOMY, T0)


def test_rules_read_windows_as_durations_and_refuse_what_is_not_one() -> None:
    assert [rule.window for rule in MAPPING.grouping] == [3600, 300]
    assert a.AlertMapping.model_validate({"grouping": [{"by": ["x"], "window": 45}]}).grouping[0].window == 45
    for window in ("5 minutes", "0s", "2d", -1):
        with pytest.raises(ValidationError) as exc:
            a.AlertMapping.model_validate({"grouping": [{"by": ["x"], "window": window}]})
        assert exc.value.errors()[0]["loc"][:3] == ("grouping", 0, "window")
    with pytest.raises(ValidationError):
        a.AlertMapping.model_validate({"grouping": [{"match": {"source": "alertmanager"}}]})


def test_the_first_matching_rule_groups_by_service_and_the_labels_it_names() -> None:
    one, other_host = normalized(generic("h1")), normalized(generic("h2"))
    rule = rule_for(MAPPING, one)
    assert rule is MAPPING.grouping[1]
    assert group_key(rule, one) == group_key(rule, other_host) == "grouped/checkout alertname=Checkout5xx cluster=eu"
    us = normalized(generic("h3", cluster="us"))
    assert group_key(rule, us) != group_key(rule, one)
    assert rule_for(MAPPING, normalized(generic("h1", env="staging"))) is None  # no rule: one incident per alert


def test_split_keeps_ungrouped_items_and_buckets_the_grouped_ones_in_order() -> None:
    invalid = AlertResult("invalid")
    items = [normalized(generic("h1")), invalid, normalized(generic("h2", env="dev")), normalized(generic("h3"))]
    alone, groups = split(items, MAPPING)
    assert [index for index, _ in alone] == [1, 2]
    [(_, (rule, members))] = groups.items()
    assert [index for index, _ in members] == [0, 3] and rule.window == 300


def test_a_groups_incident_is_titled_by_what_its_alerts_share_at_the_most_severe_level() -> None:
    alerts = [normalized(generic("h1")), normalized(generic("h2", severity="critical"))]
    rule = MAPPING.grouping[1]
    notice = grouped_notice(group_key(rule, alerts[0]), rule, alerts, MAPPING)
    opening = notice.opening
    assert (opening.summary, opening.service, opening.severity) == ("Checkout5xx", "checkout", "critical")
    assert opening.labels == {"alertname": "Checkout5xx", "env": "prod", "cluster": "eu"}  # not the instance
    assert (notice.source, notice.mapping_version, notice.dedup_key) == ("generic", 3, opening.dedup_key)


async def post(service: AlertService, *alerts: dict[str, Any]) -> list[AlertResult]:
    outcome = await service.receive(ACTOR, "corr", list(alerts), GENERIC)
    assert isinstance(outcome, AlertsHandled)
    return outcome.results


async def test_ten_hosts_within_the_window_are_one_incident_with_ten_alerts() -> None:
    fakes = Fakes()
    service = fakes.alerts(MAPPING)
    first = await post(service, generic("host0"))
    assert first[0].outcome == "opened"
    later = [await post(service, generic(f"host{i}")) for i in range(1, 10)]
    assert {r[0].outcome for r in later} == {"correlated"}
    assert {r[0].incident_id for r in later} == {first[0].incident_id}
    assert first[0].incident_id is not None
    state = fakes.read_model.incidents[first[0].incident_id]
    assert (state.alerts_firing, state.alert_count, len(fakes.read_model.incidents)) == (10, 10, 1)
    assert state.priority is Priority.P3 and state.title == "Checkout5xx"


async def test_after_the_window_a_new_alert_opens_a_second_incident_and_a_resend_still_joins() -> None:
    fakes = Fakes()
    service = fakes.alerts(MAPPING)
    [first] = await post(service, generic("host0"))
    fakes.clock.advance(200)
    assert (await post(service, generic("host1")))[0].incident_id == first.incident_id  # the window slides
    fakes.clock.advance(301)
    [resend] = await post(service, generic("host1"))
    assert (resend.outcome, resend.incident_id) == ("ignored", first.incident_id)
    [second] = await post(service, generic("host2"))
    assert second.outcome == "opened" and second.incident_id != first.incident_id
    assert len(fakes.read_model.incidents) == 2


async def test_a_more_severe_alert_raises_and_the_last_resolved_resolves() -> None:
    fakes = Fakes()
    service = fakes.alerts(MAPPING)
    opened, _ = await post(service, generic("host0"), generic("host1"))
    await post(service, generic("host2", severity="critical"))
    assert opened.incident_id is not None
    assert fakes.read_model.incidents[opened.incident_id].priority is Priority.P1
    await post(service, *(generic(f"host{i}", status="resolved") for i in range(2)))
    assert fakes.read_model.incidents[opened.incident_id].status is not Status.RESOLVED
    [last] = await post(service, generic("host2", status="resolved", severity="critical"))
    assert last.outcome == "resolved"
    assert fakes.read_model.incidents[opened.incident_id].status is Status.RESOLVED


async def test_grafana_alerts_of_a_rule_group_and_other_sources_do_not() -> None:
    fakes = Fakes()
    service = fakes.alerts(MAPPING)
    when = (T0 - timedelta(minutes=1)).isoformat()
    grafana = [
        {"status": "firing", "labels": {"alertname": "Slow", "service": "search", "instance": f"h{i}"},
         "startsAt": when, "fingerprint": f"fp{i}"} for i in range(3)
    ]  # fmt: skip
    outcome = await service.receive(ACTOR, "corr", grafana, GRAFANA)
    assert isinstance(outcome, AlertsHandled)
    assert {r.incident_id for r in outcome.results} == {outcome.results[0].incident_id}
    staging = await post(service, generic("h1", env="staging"), generic("h2", env="staging"))
    assert len({r.incident_id for r in staging}) == 2 and len(fakes.read_model.incidents) == 3


async def test_hosts_of_the_first_incident_resolve_it_after_the_second_opened() -> None:
    fakes = Fakes()
    service = fakes.alerts(MAPPING)
    [first] = await post(service, generic("host0"))
    fakes.clock.advance(400)
    [second] = await post(service, generic("host1"))
    assert second.outcome == "opened" and second.incident_id != first.incident_id
    [back] = await post(service, generic("host0", status="resolved"))
    assert (back.outcome, back.incident_id) == ("resolved", first.incident_id)
    assert first.incident_id is not None and second.incident_id is not None
    assert fakes.read_model.incidents[second.incident_id].alerts_firing == 1
    [unknown] = await post(service, generic("host9", status="resolved"))
    assert unknown.incident_id == second.incident_id, "an alert no incident has firing goes to the current one"
