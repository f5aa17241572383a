"""Clock skew on the escalator: steps fire at the wrong moment, but each exactly once, and never after an ack."""

import asyncio
import uuid
from collections import Counter
from typing import Any

import httpx

from tests.faults import report
from tests.faults.ledger import Folded
from tests.integration.helpers import auth, log_incident
from tests.integration.services import Service

AHEAD_S = 30  # every step of the fast policy (4 s, 8 s, 12 s) is due at once


async def _timeline(api: httpx.AsyncClient, tokens: dict[str, str], incident_id: str) -> list[dict[str, Any]]:
    answer = await api.get(f"/v1/incidents/{incident_id}/timeline", headers=auth(tokens, "auditor"))
    events: list[dict[str, Any]] = answer.json()["events"]
    return events


async def test_escalator_clock_ahead_fires_each_step_once(
    api: httpx.AsyncClient, tokens: dict[str, str], services: dict[str, Service]
) -> None:
    escalator = services["escalator"]
    escalator.stop()
    escalator.env["INCIDENTS_ESCALATOR_CLOCK_SKEW_S"] = str(AHEAD_S)
    escalator.start()
    try:
        incident = await log_incident(api, tokens, title=f"skewed {uuid.uuid4()}", impact="high", urgency="high")
        incident_id = incident["incident_id"]
        levels: Counter[int] = Counter()
        for _ in range(100):
            timeline = await _timeline(api, tokens, incident_id)
            levels = Counter(e["data"]["level"] for e in timeline if e["type"] == "incident.escalated")
            if levels.get(4):
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(2)  # anything fired twice would show up by now
        timeline = await _timeline(api, tokens, incident_id)
        levels = Counter(e["data"]["level"] for e in timeline if e["type"] == "incident.escalated")
        breaches = [e for e in timeline if e["type"] == "incident.sla_breached"]
        assert levels == {2: 1, 3: 1, 4: 1}, levels
        assert len(breaches) == 1

        skewed_ack = await log_incident(api, tokens, title=f"acked {uuid.uuid4()}", impact="high", urgency="high")
        acked = await api.post(
            f"/v1/incidents/{skewed_ack['incident_id']}/acknowledge", json={}, headers=auth(tokens, "responder")
        )
        assert acked.status_code == 200
        await asyncio.sleep(3)
        after_ack = await _timeline(api, tokens, skewed_ack["incident_id"])
        ack_version = next(e["version"] for e in after_ack if e["type"] == "incident.acknowledged")
        late = [e for e in after_ack if e["type"] == "incident.escalated" and e["version"] > ack_version]
        assert late == [], "nothing is escalated after the acknowledgement, whatever the escalator's clock says"
    finally:
        escalator.stop()
        escalator.env.pop("INCIDENTS_ESCALATOR_CLOCK_SKEW_S", None)
        escalator.start()
    report.record(f"escalator clock {AHEAD_S} s ahead", None, Folded())
