"""Two escalators under load, one paused (SIGSTOP 30 s) and rejoining as a zombie that still believes it owns its
partitions (issue 20, fault 2): every step is appended once and every page is received once at a real receiver.

Fenced by the claims: due timers are locked from claim to marking (FOR UPDATE SKIP LOCKED), outbox rows are
leased to one escalator (decision 0096), and ownership is cleared when partitions are revoked."""

import asyncio
import json
import os
import signal
import uuid
from collections import Counter
from typing import Any

import asyncpg
import httpx

from incidents_shared.settings import CommonSettings
from tests.faults import report
from tests.faults.ledger import Load, check_invariants
from tests.integration.conftest import ESCALATOR_ENV, WEBHOOK_PORT
from tests.integration.helpers import eventually, log_incident
from tests.integration.services import LOGS, SPARE_PORT, Service
from tests.integration.webhook import running_receiver

PAUSE_S = 30


def _owned(service: Service) -> set[int]:
    path = LOGS / f"escalator-{service.port}.log"
    rows: list[dict[str, Any]] = [json.loads(x) for x in path.read_text().splitlines() if x.startswith("{")]
    assigned = [row["partitions"] for row in rows if row.get("event") == "timers_follow_assignment"]
    return set(assigned[-1]) if assigned else set()


async def test_two_escalators_one_paused_and_back_page_each_step_once(
    api: httpx.AsyncClient,
    tokens: dict[str, str],
    db: asyncpg.Connection,
    settings: CommonSettings,
    services: dict[str, Service],
) -> None:
    first, second = services["escalator"], Service("escalator", SPARE_PORT, env=dict(ESCALATOR_ENV))
    async with running_receiver(WEBHOOK_PORT) as receiver:
        second.start()
        try:

            async def shared() -> bool:
                return bool(_owned(first)) and bool(_owned(second))

            assert await eventually(shared, timeout_s=40), "both escalators own partitions"
            load = Load(api, tokens)
            load.start()
            p1s = [await log_incident(api, tokens, title=f"two escalators {uuid.uuid4()}", impact="high",
                                      urgency="high") for _ in range(12)]  # fmt: skip
            assert second.process is not None
            os.kill(second.process.pid, signal.SIGSTOP)  # mid-flight: its timers are due within seconds
            try:
                for _ in range(PAUSE_S):
                    p1s.append(await log_incident(api, tokens, title=f"while paused {uuid.uuid4()}",
                                                  impact="high", urgency="high"))  # fmt: skip
                    await asyncio.sleep(1)
            finally:
                os.kill(second.process.pid, signal.SIGCONT)  # back, still believing it owns its partitions
            await asyncio.sleep(15)  # both fire what falls due; the zombie learns of the rebalance
            ledger = await load.finish()
        finally:
            second.stop()
        folded = await check_invariants(settings, db, ledger)  # each step's record once in the log
        await asyncio.sleep(3)
        twice = {k: n for k, n in Counter(r.idempotency_key for r in receiver.requests).items() if n > 1}
        assert not twice, f"deliveries received more than once: {list(twice.items())[:5]}"
        paged = {
            i["incident_id"] for i in p1s if any(r.path == "/hooks/leads" for r in receiver.about(i["incident_id"]))
        }
        assert len(paged) == len(p1s), f"every P1 paged its step: {len(paged)} of {len(p1s)}"
    report.record("two escalators, one SIGSTOPped 30 s and back (a zombie)", ledger, folded)
