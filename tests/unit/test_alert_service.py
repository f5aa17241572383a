"""The alert use case against in-memory fakes: dedup, correlation, resolution, races between racers of one key."""

import asyncio
from typing import Any

from command_api.alert_routing import routing_key
from command_api.alerts_service import ALERTMANAGER, GENERIC, AlertService
from command_api.outcomes import AlertResult, AlertsHandled, TooManyAlerts
from incidents_shared.domain import alert_decisions as route
from incidents_shared.domain.alerts import AlertMapping
from incidents_shared.domain.enums import ActorKind, Role
from incidents_shared.domain.events import Actor
from tests.unit.fakes import Fakes

ACTOR = Actor(id="prometheus", kind=ActorKind.SERVICE, role=Role.INTEGRATION.value)
KEY = "checkout-5xx"


def alert(status: str = "firing", key: str = KEY, **changes: Any) -> dict[str, Any]:
    return {"dedup_key": key, "status": status, "summary": "Checkout 5xx over 5%", "service": "checkout", **changes}


async def receive(service: AlertService, *items: Any) -> list[AlertResult]:
    outcome = await service.receive(ACTOR, "corr", list(items), GENERIC)
    assert isinstance(outcome, AlertsHandled)
    return outcome.results


async def test_a_first_alert_opens_an_incident_of_its_key_and_a_second_correlates() -> None:
    fakes = Fakes()
    service = fakes.alerts()
    [opened] = await receive(service, alert())
    [again] = await receive(service, alert())
    assert opened.outcome == "opened"
    assert opened.incident_id == route.episode_id(routing_key(ACTOR.id, KEY), 0)
    assert opened.status == "new"
    assert (again.outcome, again.incident_id) == ("correlated", opened.incident_id)
    assert fakes.log.types(opened.incident_id).count("incident.logged") == 1


async def test_alerts_of_one_key_in_one_request_are_handled_in_order() -> None:
    service = Fakes().alerts()
    results = await receive(service, alert(), alert(), alert(key="other"))
    assert [r.outcome for r in results] == ["opened", "correlated", "opened"]
    assert results[0].incident_id == results[1].incident_id != results[2].incident_id


async def test_a_resolved_alert_resolves_what_it_opened_and_a_refire_reopens() -> None:
    fakes = Fakes()
    service = fakes.alerts()
    [opened] = await receive(service, alert())
    [resolved] = await receive(service, alert("resolved"))
    [refired] = await receive(service, alert())
    assert (resolved.outcome, resolved.status) == ("resolved", "resolved")
    assert (refired.outcome, refired.incident_id) == ("reopened", opened.incident_id)


async def test_a_resolved_alert_of_an_unknown_key_is_ignored() -> None:
    fakes = Fakes()
    [ignored] = await receive(fakes.alerts(), alert("resolved"))
    assert ignored == AlertResult("ignored", KEY)
    assert fakes.log.events == []


async def test_racing_alerts_of_one_key_open_one_incident_and_the_loser_correlates() -> None:
    fakes = Fakes()
    service = fakes.alerts()
    fakes.log.hold()  # both requests decide on "no incident yet" and both append an incident.logged
    first = asyncio.create_task(receive(service, alert()))
    second = asyncio.create_task(receive(service, alert()))
    for _ in range(1000):
        if len(fakes.log.held) == 2:
            break
        await asyncio.sleep(0)
    fakes.log.release()
    outcomes = sorted(r.outcome for [r] in (await first, await second))
    assert outcomes == ["correlated", "opened"]
    incident = route.episode_id(routing_key(ACTOR.id, KEY), 0)
    assert fakes.read_model.incidents[incident].alert_count == 2
    assert fakes.log.types(incident).count("incident.logged") == 2, "the loser's attempt stays in the log"


async def test_an_invalid_alert_gets_its_own_outcome_and_the_others_are_handled() -> None:
    service = Fakes().alerts()
    results = await receive(service, alert(status="burning"), "not an object", alert())
    assert [r.outcome for r in results] == ["invalid", "invalid", "opened"]
    assert results[0].dedup_key == KEY
    assert results[0].errors is not None
    assert results[0].errors[0]["loc"] == ["status"]
    assert results[1].detail == "an alert is a JSON object"


async def test_a_webhook_alert_without_a_valid_body_is_named_by_its_fingerprint() -> None:
    service = Fakes().alerts()
    outcome = await service.receive(ACTOR, "corr", [{"fingerprint": "a1b2", "status": "firing"}], ALERTMANAGER)
    assert isinstance(outcome, AlertsHandled)
    assert (outcome.results[0].outcome, outcome.results[0].dedup_key) == ("invalid", "a1b2")


async def test_a_batch_over_the_limit_is_refused_whole() -> None:
    fakes = Fakes()
    service = fakes.alerts(AlertMapping(max_alerts_per_request=2))
    outcome = await service.receive(ACTOR, "corr", [alert(), alert(), alert()], GENERIC)
    assert outcome == TooManyAlerts(2)
    assert fakes.log.events == []


async def test_a_verdict_that_does_not_come_in_time_is_pending() -> None:
    fakes = Fakes()
    fakes.log.hold()
    [pending] = await receive(fakes.alerts(verdict_timeout_s=0.01), alert())
    assert pending.outcome == "pending"
    assert pending.event_id == fakes.log.events[-1].event_id
