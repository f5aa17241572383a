"""Alertmanager groups in the pure domain: one incident per notification group, only changes recorded, in parts;
the priority follows the most severe firing alert; the incident resolves when the last alert resolves."""

from typing import Any

import pytest

from incidents_shared.domain import alert_groups as g
from incidents_shared.domain import alerts as a
from incidents_shared.domain import commands as c
from incidents_shared.domain import events as e
from incidents_shared.domain import payloads as p
from incidents_shared.domain.alert_tracking import MAX_TRACKED_ALERTS
from incidents_shared.domain.codec import canonical_bytes
from incidents_shared.domain.decide import decide
from incidents_shared.domain.enums import AlertStatus, Level, Priority, ResolutionCode, Role, Status
from incidents_shared.domain.errors import Forbidden
from incidents_shared.domain.state import Incident
from incidents_shared.domain.taxonomy import DEFAULT_TAXONOMY
from tests.unit.builders import Metas, apply, at

GROUP_KEY = '{}:{alertname="CheckoutErrors"}'
MAPPING = a.AlertMapping()


def am_alert(n: int, status: str = "firing", severity: str = "warning", **labels: str) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "status": status,
        "labels": {
            "alertname": "CheckoutErrors",
            "severity": severity,
            "service": "checkout",
            "instance": f"host{n}",
            **labels,
        },
        "annotations": {"summary": f"checkout 5xx on host{n}"},
        "startsAt": f"2026-01-01T00:{n % 60:02d}:00Z",
        "endsAt": "2026-01-01T01:00:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "fingerprint": f"fp{n:04d}",
    }
    return alert


def notice(alerts: list[dict[str, Any]], mapping: a.AlertMapping = MAPPING, **envelope: Any) -> a.AlertGroupNotice:
    status = "firing" if any(x["status"] == "firing" for x in alerts) else "resolved"
    webhook = a.AlertmanagerWebhook.model_validate(
        {
            "version": "4",
            "groupKey": GROUP_KEY,
            "status": status,
            "receiver": "incidents",
            "groupLabels": {"alertname": "CheckoutErrors"},
            "commonLabels": {"alertname": "CheckoutErrors", "service": "checkout"},
            "alerts": alerts,
            **envelope,
        }
    )
    normalized = [
        a.normalize_webhook(a.WebhookAlert.model_validate(x), "alertmanager", mapping, DEFAULT_TAXONOMY)
        for x in webhook.alerts
    ]
    made = g.notice_of(webhook, normalized, mapping, DEFAULT_TAXONOMY)
    assert made is not None
    return made


def receive(state: Incident | None, made: a.AlertGroupNotice, metas: Metas, **policy: Any) -> list[e.EventBase]:
    command = c.ReceiveAlertGroup(notice=made, policy=a.AlertPolicy.model_validate(policy))
    return decide(state, command, metas(Role.INTEGRATION))


def many(count: int, status: str = "firing", start: int = 0, **kw: Any) -> list[dict[str, Any]]:
    return [am_alert(n, status, **kw) for n in range(start, start + count)]


def recorded(events: list[e.EventBase]) -> list[p.RecordedAlert]:
    return [alert for ev in events if isinstance(ev, e.AlertsRecorded) for alert in ev.data.alerts]


def opened(count: int, metas: Metas, **kw: Any) -> Incident:
    state = apply(None, receive(None, notice(many(count, **kw)), metas))
    assert state is not None
    return state


def test_the_groups_key_within_its_receiver_is_the_dedup_key() -> None:
    assert g.group_dedup_key("incidents", GROUP_KEY) == f"alertmanager/incidents/{GROUP_KEY}"
    assert g.group_dedup_key("other", GROUP_KEY) != g.group_dedup_key("incidents", GROUP_KEY)
    long_key = "{}:{" + ",".join(f'l{i}="{"v" * 20}"' for i in range(20)) + "}"
    hashed = g.group_dedup_key("incidents", long_key)
    assert len(hashed) <= 300 and hashed == g.group_dedup_key("incidents", long_key) != g.group_dedup_key("x", long_key)


def test_a_notification_of_300_alerts_opens_one_incident_with_every_alert_in_parts_of_100() -> None:
    events = receive(None, notice(many(300)), Metas())
    assert [type(ev) for ev in events] == [e.IncidentLogged, *[e.AlertsRecorded] * 3]
    logged = events[0]
    assert isinstance(logged, e.IncidentLogged)
    assert (logged.data.title, logged.data.service, logged.data.priority) == ("CheckoutErrors", "checkout", Priority.P3)
    assert logged.data.dedup_key == f"alertmanager/incidents/{GROUP_KEY}" and logged.data.detected_at == at(0)
    assert logged.data.labels == {"alertname": "CheckoutErrors", "service": "checkout"}, "the labels all share"
    parts = [ev.data for ev in events if isinstance(ev, e.AlertsRecorded)]
    assert [(d.part, d.parts, len(d.alerts)) for d in parts] == [(1, 3, 100), (2, 3, 100), (3, 3, 100)]
    assert all(len(canonical_bytes(ev)) < 100_000 for ev in events), "far below Kafka's 1 MB per record"
    state = apply(None, events)
    assert state is not None
    assert (len(state.group_alerts), state.alerts_firing, state.alert_count) == (300, 300, 300)
    assert state.firing_instances[:3] == ("host0", "host1", "host10") and len(state.firing_instances) == 50
    assert state.revision == 1, "recording alerts is bookkeeping: a person's If-Match stays valid"


def test_a_resend_of_an_unchanged_group_appends_nothing() -> None:
    metas = Metas()
    state = opened(300, metas)
    assert receive(state, notice(many(300)), metas) == []
    assert receive(state, notice(many(300)[::-1]), metas) == [], "in any order"


def test_only_the_alerts_that_changed_are_recorded() -> None:
    metas = Metas()
    state = opened(3, metas)
    alerts = [am_alert(0), am_alert(1, "resolved"), am_alert(2), am_alert(3)]
    events = receive(state, notice(alerts), metas)
    assert [(x.fingerprint, x.status) for x in recorded(events)] == [
        ("fp0001", AlertStatus.RESOLVED),
        ("fp0003", AlertStatus.FIRING),
    ]
    [record] = [ev for ev in events if isinstance(ev, e.AlertsRecorded)]
    assert record.data.alerts[0].ends_at is not None and record.data.alerts[1].ends_at is None
    after = apply(state, events)
    assert after is not None and (after.alerts_firing, after.firing_instances) == (3, ("host0", "host2", "host3"))


def test_large_labels_split_a_notification_by_size_too() -> None:
    big = [g.recorded(alert) for alert in notice(many(10, blob="x" * 1_000)).alerts]
    chunks = g.parts(big, max_bytes=3_000)
    assert len(chunks) == 5 and all(len(chunk) == 2 for chunk in chunks)
    assert g.parts([]) == [[]] and g.parts(big[:1], max_bytes=10) == [big[:1]], "an alert alone is a part"


def test_when_the_last_alert_resolves_the_incident_auto_resolves() -> None:
    metas = Metas()
    state = opened(300, metas)
    partly = apply(state, receive(state, notice(many(150, "resolved") + many(150, start=150)), metas))
    assert partly is not None and (partly.status, partly.alerts_firing) == (Status.NEW, 150)
    events = receive(partly, notice(many(300, "resolved")), metas)
    assert [type(ev) for ev in events] == [e.AlertsRecorded, e.AlertsRecorded, e.IncidentResolved]
    resolved = events[-1]
    assert isinstance(resolved, e.IncidentResolved) and resolved.data.resolution_code is ResolutionCode.AUTO_RESOLVED
    after = apply(partly, events)
    assert after is not None and (after.status, after.alerts_firing, after.firing_instances) == (Status.RESOLVED, 0, ())
    assert receive(after, notice(many(300, "resolved")), metas) == [], "the resolved notification again: nothing"


def test_an_acknowledged_group_stays_open_with_a_note() -> None:
    metas = Metas()
    state = apply(opened(2, metas), decide(opened(2, metas), c.Acknowledge(), metas(Role.RESPONDER)))
    [_, note] = receive(state, notice(many(2, "resolved")), metas)
    assert isinstance(note, e.NoteAdded) and "left open because the incident was acknowledged" in note.data.text


def test_the_priority_rises_with_a_more_severe_firing_alert_and_is_not_lowered() -> None:
    metas = Metas()
    state = opened(2, metas)
    assert state.priority is Priority.P3
    events = receive(state, notice([*many(2), am_alert(2, severity="critical")]), metas)
    assert [type(ev) for ev in events] == [e.IncidentPrioritized, e.AlertsRecorded]
    raised = apply(state, events)
    assert raised is not None and (raised.priority, raised.impact, raised.urgency) == (
        Priority.P1,
        Level.HIGH,
        Level.HIGH,
    )
    calmer = receive(raised, notice([*many(2), am_alert(2, "resolved", severity="critical")]), metas)
    assert [type(ev) for ev in calmer] == [e.AlertsRecorded], "not lowered when the severe alert resolves"
    again = receive(raised, notice([*many(2), am_alert(3, severity="warning")]), metas)
    assert [type(ev) for ev in again] == [e.AlertsRecorded], "a less severe newcomer changes no priority"


def test_a_group_opens_at_its_most_severe_firing_alert() -> None:
    events = receive(None, notice([am_alert(0), am_alert(1, severity="critical"), am_alert(2, "resolved")]), Metas())
    logged = events[0]
    assert isinstance(logged, e.IncidentLogged) and logged.data.priority is Priority.P1
    assert receive(None, notice(many(3, "resolved")), Metas()) == [], "a group that never fired opens nothing"


def test_an_overridden_priority_stays() -> None:
    metas = Metas()
    state: Incident | None = opened(1, metas)
    override = c.Prioritize(impact=Level.LOW, urgency=Level.LOW, override_priority=Priority.P4, reason="known issue")
    state = apply(state, decide(state, override, metas(Role.MANAGER)))
    assert state is not None
    events = receive(state, notice([am_alert(0), am_alert(1, severity="critical")]), metas)
    assert [type(ev) for ev in events] == [e.AlertsRecorded]


def test_a_refire_within_the_window_reopens_and_records() -> None:
    metas = Metas()
    state: Incident | None = opened(2, metas)
    state = apply(state, receive(state, notice(many(2, "resolved")), metas))
    assert state is not None and state.status is Status.RESOLVED
    events = receive(state, notice(many(1)), metas)
    assert [type(ev) for ev in events] == [e.IncidentReopened, e.AlertsRecorded]
    after = apply(state, events)
    assert after is not None and (after.status, after.alerts_firing) == (Status.INVESTIGATING, 1)


def test_an_incident_tracks_a_bounded_number_of_alerts() -> None:
    metas = Metas()
    state = opened(MAX_TRACKED_ALERTS + 5, metas)
    assert (len(state.group_alerts), state.alerts_untracked_firing) == (MAX_TRACKED_ALERTS, 5)
    assert state.alerts_firing == MAX_TRACKED_ALERTS + 5
    assert receive(state, notice(many(MAX_TRACKED_ALERTS + 5)), metas) == [], "untracked ones are not re-recorded"
    resolved = many(10, "resolved") + many(MAX_TRACKED_ALERTS - 5, start=10)
    events = receive(state, notice(resolved), metas)
    after = apply(state, events)
    assert after is not None
    assert (len(after.group_alerts), after.alerts_untracked_firing, after.alerts_firing) == (1_000, 0, 995)
    assert after.status is Status.NEW
    truncated = receive(after, notice(many(MAX_TRACKED_ALERTS - 5, start=10), truncatedAlerts=3), metas)
    [count] = truncated
    assert isinstance(count, e.AlertsRecorded) and (count.data.alerts, count.data.untracked_firing) == ([], 3)


def test_a_mapping_route_switches_a_receiver_or_labels_back_to_one_incident_per_alert() -> None:
    mapping = a.AlertMapping.model_validate(
        {
            "version": 3,
            "alertmanager_routes": [{"receiver": "legacy"}, {"labels": {"team": "db"}, "incident_per": "alert"}],
        }
    )
    assert mapping.incident_per("incidents", {"alertname": "X"}) is a.IncidentPer.GROUP
    assert mapping.incident_per("legacy", {}) is a.IncidentPer.ALERT
    assert mapping.incident_per("incidents", {"team": "db", "alertname": "X"}) is a.IncidentPer.ALERT
    everything = a.AlertMapping(alertmanager_incident_per=a.IncidentPer.ALERT)
    assert everything.incident_per("incidents", {}) is a.IncidentPer.ALERT
    events = receive(None, notice(many(1), mapping), Metas())
    assert [ev.data.mapping_version for ev in events if isinstance(ev, e.AlertsRecorded)] == [3]


def test_an_envelope_with_text_the_log_cannot_store_is_refused_naming_the_field() -> None:
    body = {"version": "4", "groupKey": "g\x00", "status": "firing", "receiver": "r", "alerts": []}
    with pytest.raises(ValueError, match=r"groupKey|group_key"):
        a.AlertmanagerWebhook.model_validate(body)
    with pytest.raises(ValueError, match="NUL"):
        a.WebhookAlert.model_validate({**am_alert(0), "annotations": {"summary": "a\x00b"}})


def test_only_integrations_send_alert_groups() -> None:
    with pytest.raises(Forbidden):
        decide(None, c.ReceiveAlertGroup(notice=notice(many(1))), Metas()(Role.RESPONDER))
