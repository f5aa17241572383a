"""Alerts in the pure domain: normalization and mapping, routing helpers, and what ReceiveAlert decides."""

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from command_api.alerts_config import AlertMappingError, load_mapping
from command_api.settings import ApiSettings
from incidents_shared.domain import alert_decisions as route
from incidents_shared.domain import alerts as a
from incidents_shared.domain import commands as c
from incidents_shared.domain import events as e
from incidents_shared.domain.authorization import COMMAND_ROLES
from incidents_shared.domain.decide import decide
from incidents_shared.domain.enums import AlertStatus, Level, LinkRelation, Priority, ResolutionCode, Role, Status
from incidents_shared.domain.errors import Forbidden
from incidents_shared.domain.fold import VerdictKind, judge
from incidents_shared.domain.state import Incident
from incidents_shared.domain.taxonomy import DEFAULT_TAXONOMY
from incidents_shared.settings import describe_errors
from tests.unit.builders import OTHER_INCIDENT_ID, Metas, apply, at, given

MAPPING = a.AlertMapping()
AM_ALERT = {
    "status": "firing",
    "labels": {"alertname": "DiskFull", "severity": "critical", "service": "db", "category": "hardware", "team": "dba"},
    "annotations": {"summary": "disk full on db-1", "runbook_url": "https://rb/disk", "description": "95%"},
    "startsAt": "2026-01-01T00:00:00Z",
    "endsAt": "0001-01-01T00:00:00Z",
    "generatorURL": "http://prom/graph",
    "fingerprint": "a1b2c3",
}


def _am(**changes: object) -> a.NormalizedAlert:
    return a.normalize_webhook(a.WebhookAlert.model_validate({**AM_ALERT, **changes}), "am", MAPPING, DEFAULT_TAXONOMY)


def _receive(
    state: Incident | None, alert: a.NormalizedAlert, metas: Metas, role: Role = Role.INTEGRATION, **policy: object
) -> list[e.EventBase]:
    command = c.ReceiveAlert(alert=alert, policy=a.AlertPolicy.model_validate(policy))
    return decide(state, command, metas(role))


def test_an_alertmanager_alert_is_mapped_by_the_defaults() -> None:
    alert = _am()
    assert (alert.dedup_key, alert.fingerprint, alert.source) == ("a1b2c3", "a1b2c3", "am")
    assert (alert.impact, alert.urgency, alert.service, alert.category, alert.team) == (
        Level.HIGH,
        Level.HIGH,
        "db",
        "hardware",
        "dba",
    )
    assert (alert.summary, alert.runbook_url, alert.ends_at) == ("disk full on db-1", "https://rb/disk", None)


def test_unknown_severity_category_and_missing_service_fall_back() -> None:
    alert = _am(labels={"alertname": "Odd", "severity": "catastrophic", "category": "weather"}, annotations={})
    assert (alert.impact, alert.urgency) == (Level.MEDIUM, Level.MEDIUM), "unknown severity: the default (warning)"
    assert alert.category is None, "a category outside the taxonomy is dropped (it stays in the labels)"
    assert alert.service == "unknown" and alert.summary == "Odd"


def test_dedup_by_chosen_labels_ignores_the_others() -> None:
    mapping = a.AlertMapping(dedup_labels=["alertname", "service"])
    one = a.WebhookAlert.model_validate(AM_ALERT)
    other = a.WebhookAlert.model_validate({**AM_ALERT, "fingerprint": "zz", "labels": {**AM_ALERT["labels"], "x": "1"}})  # type: ignore[dict-item]
    keys = {a.normalize_webhook(alert, "am", mapping, DEFAULT_TAXONOMY).dedup_key for alert in (one, other)}
    assert len(keys) == 1


def test_generic_alert_without_a_key_gets_a_stable_fingerprint() -> None:
    body = {"summary": "queue backlog", "service": "billing", "labels": {"queue": "invoices"}, "severity": "info"}
    first, second = (
        a.normalize_generic(a.GenericAlert.model_validate(body), MAPPING, DEFAULT_TAXONOMY, at(n)) for n in (0, 5)
    )
    assert first.dedup_key == second.dedup_key and first.starts_at == at(0)
    assert (first.impact, first.urgency) == (Level.LOW, Level.LOW)


def test_payload_limits_and_strictness() -> None:
    with pytest.raises(ValidationError):
        a.WebhookAlert.model_validate({**AM_ALERT, "unexpected": 1})
    with pytest.raises(ValidationError):
        a.WebhookAlert.model_validate({**AM_ALERT, "labels": {f"l{i}": "v" for i in range(65)}})
    a.GrafanaAlert.model_validate({**AM_ALERT, "silenceURL": "http://grafana/silence", "values": {"A": 1}})
    with pytest.raises(ValidationError):
        a.AlertmanagerWebhook.model_validate({"version": "3", "groupKey": "g", "status": "firing", "receiver": "r"})


def test_the_first_alert_logs_an_incident_from_the_alert_and_assigns_its_team() -> None:
    [logged, assigned] = route.pin_opening(_receive(None, _am(), Metas()))
    assert isinstance(logged, e.IncidentLogged) and isinstance(assigned, e.IncidentAssigned)
    data = logged.data
    assert (data.source, data.dedup_key, data.priority, data.detected_at) == ("alert", "a1b2c3", Priority.P1, at(0))
    assert (data.runbook_url, data.category, data.labels["team"]) == ("https://rb/disk", "hardware", "dba")
    assert (assigned.data.team, assigned.expected_version) == ("dba", 1)
    state = apply(None, [logged, assigned])
    assert state is not None and (state.alert_count, state.team) == (1, "dba")
    assert isinstance(_receive(None, _am(labels={"alertname": "NoTeam"}), Metas())[-1], e.IncidentLogged)


def test_a_racer_that_lost_the_opening_is_rejected_whole() -> None:
    winner, loser = (route.pin_opening(_receive(None, _am(), Metas())) for _ in range(2))
    state = apply(None, winner)
    verdicts = []
    for event in loser:
        verdict, state = judge(state, event, seen=False)
        verdicts.append(verdict.kind)
    assert verdicts == [VerdictKind.REJECTED_INVALID, VerdictKind.REJECTED_CONFLICT]
    assert route.pin_opening(winner[1:]) == winner[1:], "only opening batches are pinned"


def test_repeats_correlate_and_count_every_occurrence() -> None:
    metas = Metas()
    state = apply(None, _receive(None, _am(), metas))
    for _ in range(2):
        [event] = _receive(state, _am(), metas)
        assert isinstance(event, e.AlertCorrelated)
        state = apply(state, [event])
    assert state is not None and state.alert_count == 3
    assert state.revision == 2, "logged + assigned; correlations are bookkeeping: a person's If-Match stays valid"


def test_a_stale_correlation_still_counts_once() -> None:
    metas = Metas()
    state = apply(None, _receive(None, _am(), metas))
    racers = [_receive(state, _am(), metas)[0] for _ in range(3)]  # all decided on the same state
    final = apply(state, racers)
    assert final is not None and final.alert_count == 4


def test_resolved_alert_auto_resolves_an_unacknowledged_alert_incident() -> None:
    metas = Metas()
    state = apply(None, _receive(None, _am(), metas))
    [event] = _receive(state, _am(status="resolved", endsAt="2026-01-01T00:10:00Z"), metas)
    assert isinstance(event, e.IncidentResolved) and event.data.resolution_code is ResolutionCode.AUTO_RESOLVED


@pytest.mark.parametrize("how", ["acknowledged", "policy_off", "not_by_alert"])
def test_otherwise_a_resolved_alert_adds_a_note(how: str) -> None:
    metas = Metas()
    state: Incident | None
    if how == "not_by_alert":
        state = given(c.LogIncident(title="Disk", service="db"), metas=metas)
    else:
        state = apply(None, _receive(None, _am(), metas))
    if how == "acknowledged":
        state = apply(state, decide(state, c.Acknowledge(), metas(Role.RESPONDER)))
    policy = {"auto_resolve_unacknowledged": how != "policy_off"}
    role = Role.ADMIN if how == "not_by_alert" else Role.INTEGRATION  # a person's incident: not an integration's (0090)
    [event] = _receive(state, _am(status="resolved"), metas, role, **policy)
    assert isinstance(event, e.NoteAdded) and "resolved at the source" in event.data.text


def _auto_resolved(metas: Metas) -> Incident:
    state = apply(None, _receive(None, _am(), metas))
    state = apply(state, _receive(state, _am(status="resolved"), metas))
    assert state is not None and state.status is Status.RESOLVED
    return state


def test_refiring_within_the_window_reopens_and_counts() -> None:
    metas = Metas()
    state = _auto_resolved(metas)
    events = _receive(state, _am(), metas, reopen_window_s=3600)
    assert [type(ev) for ev in events] == [e.IncidentReopened, e.AlertCorrelated]
    after = apply(state, events)
    assert after is not None and (after.status, after.alert_count) == (Status.INVESTIGATING, 2)


def test_past_the_window_or_after_a_human_fix_a_new_episode_opens() -> None:
    metas = Metas()
    state = _auto_resolved(metas)
    assert state.resolved_at is not None
    policy = a.AlertPolicy(reopen_window_s=60)
    assert not route.needs_new_episode(state, _am(), policy, state.resolved_at + timedelta(seconds=60))
    assert route.needs_new_episode(state, _am(), policy, state.resolved_at + timedelta(seconds=61))
    assert _receive(state, _am(), metas, reopen_window_s=0) == [], "never reopens: the API opens the next episode"
    assert not route.needs_new_episode(state, _am(status="resolved"), policy, at(999))
    fixed = given(c.LogIncident(title="x", service="y"), c.Resolve(summary="fixed by hand"))
    assert route.needs_new_episode(fixed, _am(), policy, fixed.updated_at)


def test_episodes_are_derived_from_the_key_and_found_in_order() -> None:
    assert route.episode_id("k", 0) == route.episode_id("k", 0) != route.episode_id("k", 1) != route.episode_id("j", 1)
    assert route.current_episode("k", set()) == -1
    assert (
        route.current_episode("k", {route.episode_id("k", 0), route.episode_id("k", 1), route.episode_id("j", 2)}) == 1
    )


def test_duplicate_of_resolves_the_duplicate_and_sends_its_alerts_on() -> None:
    metas = Metas()
    state = apply(None, _receive(None, _am(), metas))
    link = c.Link(other_incident_id=OTHER_INCIDENT_ID, relation=LinkRelation.DUPLICATE_OF)
    events = decide(state, link, metas(Role.RESPONDER, expected_version=2))
    assert [type(ev) for ev in events] == [e.IncidentLinked, e.IncidentResolved]
    assert [ev.expected_version for ev in events] == [2, None], "the batch is checked once, by its first event"
    after = apply(state, events)
    assert after is not None and after.resolution_code is ResolutionCode.DUPLICATE
    assert route.duplicate_target(after) == OTHER_INCIDENT_ID
    survivor = apply(None, _receive(None, _am(fingerprint="survivor"), Metas(OTHER_INCIDENT_ID)))
    [note] = _receive(survivor, _am(status="resolved"), Metas(OTHER_INCIDENT_ID))
    assert isinstance(note, e.NoteAdded), "the duplicate's resolved alert does not resolve the survivor"
    assert state is not None and route.duplicate_target(state) is None, "an open incident keeps its alerts"


def test_only_integrations_and_admins_send_alerts() -> None:
    assert COMMAND_ROLES[c.ReceiveAlert] == {Role.INTEGRATION, Role.ADMIN}
    with pytest.raises(Forbidden):
        decide(None, c.ReceiveAlert(alert=_am()), Metas()(Role.RESPONDER))
    assert AlertStatus.RESOLVED.value == "resolved"


def test_the_mapping_file_is_validated_with_clear_errors(tmp_path: Path) -> None:
    good = tmp_path / "mapping.yaml"
    good.write_text(
        "severities:\n  page: {impact: high, urgency: high}\ndefault_severity: page\ndedup_labels: [alertname]\n"
    )
    mapping = load_mapping(good)
    assert mapping.levels("PAGE").impact is Level.HIGH and mapping.dedup_labels == ["alertname"]
    assert load_mapping(None) == a.AlertMapping()
    bad = tmp_path / "bad.json"
    bad.write_text('{"severities": {"critical": {"impact": "huge", "urgency": "high"}}, "colour": "red"}')
    with pytest.raises(AlertMappingError, match=r"severities\.critical\.impact.*colour|colour.*severities"):
        load_mapping(bad)
    with pytest.raises(AlertMappingError, match="cannot read"):
        load_mapping(tmp_path / "missing.yaml")


def test_a_bad_mapping_file_stops_the_api_naming_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "mapping.yaml"
    bad.write_text("default_severity: page\n")
    tokens = tmp_path / "tokens.json"
    tokens.write_text('{"integration": "t"}')
    monkeypatch.setenv("INCIDENTS_TOKENS_FILE", str(tokens))
    monkeypatch.setenv("INCIDENTS_ALERT_MAPPING_FILE", str(bad))
    with pytest.raises(ValidationError) as caught:
        ApiSettings()
    message = describe_errors(ApiSettings, caught.value)
    assert "INCIDENTS_ALERT_MAPPING_FILE" in message and "default_severity 'page'" in message
