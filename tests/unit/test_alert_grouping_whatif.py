"""The alert grouping what-if (pure): alerts decided by the real use case on fakes (one incident per alert, the
current rules), their events replayed under a candidate mapping that groups them: fewer incidents and pages,
a second incident after the window, Alertmanager groups kept as they were, and the text report."""

from collections import defaultdict
from typing import Any
from uuid import UUID

from command_api.alerts_service import GENERIC, AlertService
from incidentctl.alert_whatif import arrivals, pages_at_once, render_text, replay, simulate_alerts
from incidents_shared.domain import alerts as a
from incidents_shared.domain.enums import Priority
from incidents_shared.domain.events import EventBase
from incidents_shared.policy_file import DEFAULT_POLICY_FILE, load_policy_file
from tests.unit.fakes import Fakes
from tests.unit.test_alert_service import ACTOR

POLICY = load_policy_file(DEFAULT_POLICY_FILE, {})
CURRENT = a.AlertMapping()
CANDIDATE = a.AlertMapping.model_validate(
    {"version": 2, "grouping": [{"match": {"service": "checkout"}, "by": ["alertname"], "window": "5m"}]}
)


def generic(host: str, status: str = "firing", severity: str = "critical") -> dict[str, Any]:
    labels = {"alertname": "Checkout5xx", "instance": host}
    return {"summary": f"5xx on {host}", "service": "checkout", "status": status, "severity": severity,
            "labels": labels}  # fmt: skip


class Recorded:
    """The events a use case appends, per incident (appended one after the other here: all accepted)."""

    def __init__(self, fakes: Fakes) -> None:
        self.histories: dict[UUID, list[EventBase]] = defaultdict(list)
        append = fakes.log.append

        async def recording(events: list[EventBase]) -> None:
            for event in events:
                self.histories[event.incident_id].append(event)
            await append(events)

        fakes.log.append = recording  # type: ignore[method-assign]


async def history_of(*steps: tuple[float, list[dict[str, Any]]]) -> dict[UUID, list[EventBase]]:
    """Each step: seconds later, one POST /v1/alerts of these alerts under the current (default) mapping."""
    fakes = Fakes()
    recorded = Recorded(fakes)
    service: AlertService = fakes.alerts(CURRENT)
    for seconds, alerts in steps:
        fakes.clock.advance(seconds)
        await service.receive(ACTOR, "corr", alerts, GENERIC)
    return dict(recorded.histories)


async def test_ten_hosts_are_ten_incidents_today_and_one_under_the_candidate() -> None:
    histories = await history_of(*((1, [generic(f"host{n}")]) for n in range(10)))
    assert len(histories) == 10 and len(arrivals(histories)) == 10
    report = simulate_alerts(histories, {"current": CURRENT, "candidate": CANDIDATE}, POLICY)
    assert report["total"] == {"current": {"incidents": 10, "pages": 10}, "candidate": {"incidents": 1, "pages": 1}}
    assert report["priorities"]["P1"]["candidate"] == {"incidents": 1, "pages": 1}
    assert report["alerts"] == 10 and report["mappings"]["candidate"] == {"version": 2, "grouping_rules": 1}
    text = render_text(report)
    assert "total     incidents          10          1         -9" in text
    assert "approximate" in text


async def test_an_alert_after_the_window_opens_a_second_incident_and_a_refire_does_not() -> None:
    histories = await history_of(
        (0, [generic("host0")]),
        (60, [generic("host1")]),
        (301, [generic("host0")]),  # still firing: it joins its incident, however late
        (1, [generic("host2")]),  # new, 302 s after the group's last change: a new incident
    )
    report = simulate_alerts(histories, {"current": CURRENT, "candidate": CANDIDATE}, POLICY)
    assert report["total"]["current"]["incidents"] == 3
    assert report["total"]["candidate"]["incidents"] == 2


async def test_resolved_alerts_close_the_group_and_a_late_refire_reopens_it() -> None:
    resolved = [generic(f"host{n}", status="resolved") for n in range(2)]
    histories = await history_of((0, [generic("host0"), generic("host1")]), (10, resolved), (600, [generic("host0")]))
    report = simulate_alerts(histories, {"current": CURRENT, "candidate": CANDIDATE}, POLICY)
    assert report["total"]["candidate"]["incidents"] == 1, "reopened within the reopen window, not a new one"


async def test_no_rule_and_the_since_bound_leave_the_history_as_it_was() -> None:
    histories = await history_of((0, [generic("a")]), (10, [generic("b", severity="info")]))
    same = simulate_alerts(histories, {"current": CURRENT, "candidate": CURRENT}, POLICY)
    assert same["total"]["current"] == same["total"]["candidate"] == {"incidents": 2, "pages": 1}
    later = arrivals(histories)[1].at
    assert simulate_alerts(histories, {"current": CURRENT, "candidate": CANDIDATE}, POLICY, since=later)["alerts"] == 1


def test_pages_at_once_follows_the_policy_steps() -> None:
    assert pages_at_once(POLICY, Priority.P1)
    assert not pages_at_once(POLICY, Priority.P5)


async def test_the_first_incidents_hosts_resolve_it_after_the_second_opened() -> None:
    later = [generic("host0", status="resolved"), generic("host1", status="resolved")]
    histories = await history_of((0, [generic("host0")]), (400, [generic("host1")]), (10, later))
    incidents = replay(arrivals(histories), CANDIDATE, POLICY)
    assert [incident.open for incident in incidents] == [False, False], "each closed by its own host"
