"""The Alertmanager group use case against in-memory fakes: one incident per group, few appends and one wait per
notification, re-sends append nothing, racing openers record once, the mapping's switch back to one per alert."""

import asyncio
from typing import Any

from command_api.alerts_service import AlertService
from command_api.outcomes import AlertResult, AlertsHandled
from incidents_shared.domain import alerts as a
from incidents_shared.domain.alert_groups import group_dedup_key
from incidents_shared.domain.events import EventBase
from tests.unit.fakes import Fakes
from tests.unit.test_alert_groups import GROUP_KEY, am_alert, many
from tests.unit.test_alert_service import ACTOR

KEY = group_dedup_key("incidents", GROUP_KEY)


def webhook(alerts: list[Any], receiver: str = "incidents", **envelope: Any) -> a.AlertmanagerWebhook:
    status = "firing" if any(isinstance(x, dict) and x.get("status") == "firing" for x in alerts) else "resolved"
    body = {"version": "4", "groupKey": GROUP_KEY, "status": status, "receiver": receiver,
            "commonLabels": {"alertname": "CheckoutErrors", "service": "checkout"}, "alerts": alerts}  # fmt: skip
    return a.AlertmanagerWebhook.model_validate({**body, **envelope})


class Counting:
    """Counts the appends (calls, not events) and the verdict waits of a use case."""

    def __init__(self, fakes: Fakes) -> None:
        self.appends: list[list[EventBase]] = []
        self.waits = 0
        append, wait = fakes.log.append, fakes.verdicts.wait

        async def counted_append(events: list[EventBase]) -> None:
            self.appends.append(list(events))
            await append(events)

        async def counted_wait(*args: Any) -> Any:
            self.waits += 1
            return await wait(*args)

        fakes.log.append = counted_append  # type: ignore[method-assign]
        fakes.verdicts.wait = counted_wait  # type: ignore[method-assign,assignment]


async def receive(service: AlertService, alerts: list[Any], **envelope: Any) -> list[AlertResult]:
    outcome = await service.receive_alertmanager(ACTOR, "corr", webhook(alerts, **envelope))
    assert isinstance(outcome, AlertsHandled)
    return outcome.results


async def test_300_alerts_open_one_incident_in_a_few_appends_and_two_waits() -> None:
    fakes = Fakes()
    counting = Counting(fakes)
    results = await receive(fakes.alerts(), many(300))
    assert {(r.outcome, r.dedup_key, r.status) for r in results} == {("opened", KEY, "new")}
    [incident] = {r.incident_id for r in results}
    assert incident is not None
    state = fakes.read_model.incidents[incident]
    assert (state.alerts_firing, len(state.group_alerts), state.alert_count) == (300, 300, 300)
    assert [len(batch) for batch in counting.appends] == [1, 1, 1, 1], "the opening, then 3 parts of 100"
    assert counting.waits == 2, "the opening's verdict, then the last part's"
    assert fakes.log.types(incident).count("incident.alerts_recorded") == 3


async def test_a_resend_appends_nothing_and_says_unchanged() -> None:
    fakes = Fakes()
    service = fakes.alerts()
    await receive(service, many(300))
    counting = Counting(fakes)
    results = await receive(service, many(300))
    assert counting.appends == [] and counting.waits == 0
    assert {(r.outcome, r.detail) for r in results} == {("ignored", "unchanged since the group's last notification")}


async def test_the_last_resolved_alert_resolves_and_a_refire_reopens() -> None:
    fakes = Fakes()
    service = fakes.alerts()
    [first, *_] = await receive(service, many(3))
    [one, two, three] = await receive(service, [am_alert(0, "resolved"), am_alert(1), am_alert(2)])
    assert (one.outcome, two.outcome, three.outcome) == ("correlated", "ignored", "ignored")
    resolved = await receive(service, many(3, "resolved"))
    assert [r.outcome for r in resolved] == ["ignored", "resolved", "resolved"]
    assert resolved[1].status == "resolved"
    [refired] = await receive(service, many(1))
    assert (refired.outcome, refired.incident_id) == ("reopened", first.incident_id)


async def test_racing_openers_record_the_group_once() -> None:
    fakes = Fakes()
    service = fakes.alerts()
    fakes.log.hold()  # both decide on "no incident yet"; both openings reach the log
    racers = [asyncio.create_task(receive(service, many(150))) for _ in range(2)]
    for _ in range(1000):
        if len(fakes.log.held) == 2:
            break
        await asyncio.sleep(0)
    fakes.log.release()
    outcomes = sorted({r.outcome for r in await racers[0]} | {r.outcome for r in await racers[1]})
    assert outcomes == ["ignored", "opened"], "the loser decides again on the winner's state: nothing changed"
    [incident] = {r.incident_id for r in await racers[0]}
    assert incident is not None
    assert fakes.log.types(incident).count("incident.logged") == 2, "the loser's opening stays in the log"
    assert fakes.log.types(incident).count("incident.alerts_recorded") == 2, "but its alerts are not recorded twice"


async def test_the_mapping_switches_a_receiver_back_to_one_incident_per_alert() -> None:
    mapping = a.AlertMapping(alertmanager_routes=[a.AlertmanagerRoute(receiver="legacy")])
    service = Fakes().alerts(mapping)
    results = await receive(service, many(3), receiver="legacy")
    assert [r.outcome for r in results] == ["opened"] * 3
    assert len({r.incident_id for r in results}) == 3 and results[0].dedup_key == "fp0000"
    grouped = await receive(service, many(3))
    assert len({r.incident_id for r in grouped}) == 1


async def test_invalid_alerts_fail_alone_and_a_notification_of_only_those_appends_nothing() -> None:
    fakes = Fakes()
    results = await receive(fakes.alerts(), [am_alert(0), {"fingerprint": "bad", "status": "exploded"}, 7])
    assert [(r.outcome, r.dedup_key) for r in results] == [("opened", KEY), ("invalid", "bad"), ("invalid", None)]
    fresh = Fakes()
    assert [r.outcome for r in await receive(fresh.alerts(), [7])] == ["invalid"]
    assert fresh.log.events == []


async def test_what_the_group_shares_is_validated_too() -> None:
    fakes = Fakes()
    common = {"alertname": "X", "team": "t" * 500}  # a team name has at most 120 characters
    results = await receive(fakes.alerts(), many(2), commonLabels=common)
    assert {r.outcome for r in results} == {"invalid"} and fakes.log.events == []
    assert results[0].errors is not None and results[0].errors[0]["loc"] == ["team"]


async def test_a_late_verdict_is_pending_with_the_event_to_ask_about() -> None:
    fakes = Fakes()
    fakes.log.hold()
    results = await receive(fakes.alerts(verdict_timeout_s=0.01), many(2))
    assert {r.outcome for r in results} == {"pending"}
    assert {r.event_id for r in results} == {fakes.log.events[-1].event_id}, "the appended event waited for"
