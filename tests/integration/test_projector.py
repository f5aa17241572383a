"""The projector stores its offsets with the read models and resumes from them after a restart."""

import asyncio
import uuid

import asyncpg
import httpx

from incidents_shared.settings import CommonSettings
from tests.integration.helpers import auth, end_offsets, eventually, log_incident
from tests.integration.services import LOGS, Service

GROUP = "projector"
# The escalator appends bookkeeping of its own meanwhile (SLA targets): count the acknowledgements only.
ACK_VERDICTS = "SELECT count(*) FROM event_verdicts WHERE type = 'incident.acknowledged'"


async def test_projector_resumes_from_its_stored_offsets_after_a_restart(
    api: httpx.AsyncClient,
    tokens: dict[str, str],
    db: asyncpg.Connection,
    settings: CommonSettings,
    services: dict[str, Service],
) -> None:
    created = [await log_incident(api, tokens, title=f"disk full {i}") for i in range(3)]
    verdicts_before = await db.fetchval(ACK_VERDICTS)

    assert services["projector"].stop() == 0
    pending = [
        await api.post(
            f"/v1/incidents/{c['incident_id']}/acknowledge",
            json={},
            headers=auth(tokens, "responder", Prefer="respond-async"),
        )
        for c in created
    ]
    assert [p.status_code for p in pending] == [202, 202, 202], "appended while the projector is down"
    assert await db.fetchval(ACK_VERDICTS) == verdicts_before

    services["projector"].start()
    for answer in pending:
        for _ in range(150):
            verdict = await api.get(answer.headers["Location"], headers=auth(tokens, "auditor"))
            if verdict.status_code == 200:
                break
            await asyncio.sleep(0.1)
        assert verdict.json()["verdict"] == "accepted"
    assert await db.fetchval(ACK_VERDICTS) == verdicts_before + 3, "nothing judged twice"

    async def caught_up() -> bool:  # the escalator may still be appending, so the end can move
        stored = {
            r["partition"]: r["next_offset"]
            for r in await db.fetch("SELECT partition, next_offset FROM consumer_offsets WHERE group_id = $1", GROUP)
        }
        ends = await end_offsets(settings)
        return {p: o for p, o in ends.items() if o > 0} == {p: o for p, o in stored.items() if o > 0}

    assert await eventually(caught_up, timeout_s=10)
    assert "partitions_assigned" in (LOGS / f"projector-{services['projector'].port}.log").read_text()


async def test_one_canonical_log_line_per_request(
    api: httpx.AsyncClient, tokens: dict[str, str], services: dict[str, Service]
) -> None:
    correlation = f"log-line-{uuid.uuid4()}"
    answer = await api.get(
        "/v1/incidents?limit=1", headers=auth(tokens, "auditor", **{"X-Correlation-ID": correlation})
    )
    assert answer.status_code == 200
    log_file = LOGS / f"command-api-{services['command-api'].port}.log"

    def mine() -> list[str]:
        lines = log_file.read_text().splitlines()
        return [line for line in lines if f'"correlation_id": "{correlation}"' in line and '"event": "request"' in line]

    for _ in range(50):  # the line is written right after the response is sent
        if mine():
            break
        await asyncio.sleep(0.05)
    [line] = mine()
    assert '"status": 200' in line and '"route": "/v1/incidents"' in line and '"duration_ms"' in line
