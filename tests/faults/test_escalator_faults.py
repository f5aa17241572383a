"""Clock skew on the escalator: steps fire at the wrong moment, but each exactly once, and never after an ack.

What is counted is what reached the outside: the records appended to the log (judged or not: a second record of
a step would be rejected by the fold, so counting accepted events could not fail) and the pages a real webhook
receiver got."""

import asyncio
import uuid
from collections import Counter

import httpx

from incidents_shared.domain.enums import EscalationReason
from incidents_shared.domain.events import EventBase, IncidentAcknowledged, IncidentEscalated, SlaBreached
from incidents_shared.settings import CommonSettings
from tests.faults import report
from tests.faults.ledger import Folded
from tests.integration.conftest import WEBHOOK_PORT
from tests.integration.helpers import auth, events_in_log, eventually, log_incident
from tests.integration.services import Service
from tests.integration.webhook import Receiver, running_receiver

AHEAD_S = 30  # every step of the fast policy (4 s, 8 s, 12 s) is due at once
STEP_HOOKS = ("/hooks/leads", "/hooks/heads")  # where examples/policies/fast-demo.yaml's P1 steps page


def _steps(records: list[EventBase]) -> Counter[int]:
    """Automatic escalation records per level, every record the log holds."""
    return Counter(
        r.data.level
        for r in records
        if isinstance(r, IncidentEscalated) and r.data.reason is not EscalationReason.MANUAL
    )


def _paged(receiver: Receiver, incident_id: str) -> Counter[str]:
    """The step pages the receiver got for the incident, per delivery (idempotency key)."""
    return Counter(r.idempotency_key for r in receiver.about(incident_id) if r.path in STEP_HOOKS)


async def test_escalator_clock_ahead_fires_each_step_once(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings, services: dict[str, Service]
) -> None:
    escalator = services["escalator"]
    escalator.stop()
    escalator.env["INCIDENTS_ESCALATOR_CLOCK_SKEW_S"] = str(AHEAD_S)
    escalator.start()
    try:
        async with running_receiver(WEBHOOK_PORT) as receiver:
            await _each_step_once(api, tokens, settings, receiver)
            await _nothing_after_the_ack(api, tokens, settings, receiver)
    finally:
        escalator.stop()
        escalator.env.pop("INCIDENTS_ESCALATOR_CLOCK_SKEW_S", None)
        escalator.start()
    report.record(f"escalator clock {AHEAD_S} s ahead", None, Folded())


async def _each_step_once(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings, receiver: Receiver
) -> None:
    incident = await log_incident(api, tokens, title=f"skewed {uuid.uuid4()}", impact="high", urgency="high")
    incident_id = incident["incident_id"]

    async def all_levels() -> bool:
        return set(_steps(await events_in_log(settings, incident_id))) >= {2, 3, 4}

    assert await eventually(all_levels, timeout_s=20), "every step fired"
    await asyncio.sleep(3)  # anything fired twice would show up by now
    records = await events_in_log(settings, incident_id)
    assert _steps(records) == {2: 1, 3: 1, 4: 1}, "each step's record is appended once"
    paged = _paged(receiver, incident_id)
    assert len(paged) == 3 and set(paged.values()) == {1}, f"each step paged once, received {dict(paged)}"
    breaches = [r for r in records if isinstance(r, SlaBreached)]
    assert len(breaches) == 1


async def _nothing_after_the_ack(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings, receiver: Receiver
) -> None:
    skewed_ack = await log_incident(api, tokens, title=f"acked {uuid.uuid4()}", impact="high", urgency="high")
    incident_id = skewed_ack["incident_id"]
    acked = await api.post(f"/v1/incidents/{incident_id}/acknowledge", json={}, headers=auth(tokens, "responder"))
    assert acked.status_code == 200
    await asyncio.sleep(3)
    records = await events_in_log(settings, incident_id)
    ack_at = next(i for i, r in enumerate(records) if isinstance(r, IncidentAcknowledged))
    late = _steps(records[ack_at + 1 :])
    assert not late, f"nothing is appended as an escalation after the acknowledgement, got levels {dict(late)}"
    paged_before = {r.idempotency_key for r in receiver.about(incident_id)}
    await asyncio.sleep(2)
    assert {r.idempotency_key for r in receiver.about(incident_id)} == paged_before, "and nobody is paged after it"
