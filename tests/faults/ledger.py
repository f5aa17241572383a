"""A load generator that keeps a ledger of every acknowledged command, and the checks run after each fault."""

import asyncio
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from uuid import UUID

import asyncpg
import httpx

from command_api.service import IDEMPOTENCY_NS
from incidentctl.checker import check
from incidentctl.logreader import read_log
from incidents_shared.domain.codec import decode
from incidents_shared.domain.errors import UndecodableEvent
from incidents_shared.settings import CommonSettings

PRINCIPAL = "dev-responder"


def event_id_for(key: str) -> UUID:
    """The first event id of a command sent with this Idempotency-Key (docs/decisions/0004)."""
    return uuid.uuid5(uuid.uuid5(IDEMPOTENCY_NS, f"{PRINCIPAL}\x00{key}"), "0")


@dataclass
class Ledger:
    acknowledged: dict[UUID, int] = field(default_factory=dict)  # event id -> HTTP status
    refused: Counter[int] = field(default_factory=Counter)
    failed: int = 0
    incidents: list[str] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return len(self.acknowledged) + sum(self.refused.values()) + self.failed


class Load:
    """Workers sending a mix of new incidents and notes, each with its own Idempotency-Key."""

    def __init__(self, api: httpx.AsyncClient, token: str, workers: int = 8) -> None:
        self.api, self.token, self.workers = api, token, workers
        self.ledger = Ledger()
        self.stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def _one(self) -> None:
        key = f"fault-{uuid.uuid4()}"
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": key}
        incidents = self.ledger.incidents
        if not incidents or random.random() < 0.3:
            path, body = "/v1/incidents", {"title": "fault load", "service": "checkout"}
            if random.random() < 0.1:
                body |= {"impact": "high", "urgency": "high"}
        else:
            target = random.choice(incidents)
            path, body = f"/v1/incidents/{target}/notes", {"text": "fault load note"}
        try:
            answer = await self.api.post(path, json=body, headers=headers, timeout=15)
        except httpx.HTTPError:
            self.ledger.failed += 1
            return
        if answer.status_code in (200, 201, 202):
            self.ledger.acknowledged[event_id_for(key)] = answer.status_code
            if answer.status_code == 201:
                incidents.append(answer.json()["incident_id"])
        else:
            self.ledger.refused[answer.status_code] += 1

    async def _worker(self) -> None:
        while not self.stop.is_set():
            await self._one()
            await asyncio.sleep(0.01)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._worker()) for _ in range(self.workers)]

    async def finish(self) -> Ledger:
        self.stop.set()
        await asyncio.gather(*self._tasks)
        return self.ledger


async def settle(settings: CommonSettings, db: asyncpg.Connection, timeout_s: float = 120) -> None:
    """Wait until the projector has stored offsets up to the end of every partition."""
    from tests.integration.helpers import end_offsets

    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        ends = await end_offsets(settings)
        rows = await db.fetch("SELECT partition, next_offset FROM consumer_offsets WHERE group_id = 'projector'")
        stored = {r["partition"]: r["next_offset"] for r in rows}
        if all(stored.get(p, 0) >= end for p, end in ends.items()):
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"projector not caught up: stored {stored}, log ends {ends}")
        await asyncio.sleep(0.2)


@dataclass
class Folded:
    """What the checks found: how often each event id is in the log, and the stored verdicts."""

    in_log: Counter[UUID] = field(default_factory=Counter)
    verdicts: dict[UUID, str] = field(default_factory=dict)


async def count_in_log(settings: CommonSettings) -> Counter[UUID]:
    counts: Counter[UUID] = Counter()
    async for _, batch in read_log(settings):
        for record in batch:
            try:
                counts[decode(record.value).event_id] += 1
            except UndecodableEvent:
                continue
    return counts


LAST_STEP_S = 12  # the fast-demo policy's last automatic step for a P1 (examples/policies/fast-demo.yaml)


async def check_escalations(db: asyncpg.Connection, timeout_s: float = 30) -> None:
    """No automatic escalation step fired twice, and every step that fell due on an unacknowledged P1 fired."""
    twice = await db.fetch(
        "SELECT incident_id, event->'data'->>'level' AS level FROM incident_events"
        " WHERE type = 'incident.escalated' AND event->'data'->>'reason' <> 'manual'"
        " GROUP BY 1, 2 HAVING count(*) > 1"
    )
    assert not twice, f"escalation steps fired twice: {[dict(r) for r in twice]}"
    missing_sql = (
        "SELECT i.incident_id FROM incidents i WHERE i.priority = 'P1' AND i.status = 'new'"
        f" AND i.logged_at < now() - interval '{LAST_STEP_S + 3} seconds'"
        " AND (SELECT count(DISTINCT e.event->'data'->>'level') FROM incident_events e"
        "      WHERE e.incident_id = i.incident_id AND e.type = 'incident.escalated') < 3"
    )
    missing = await db.fetch(missing_sql)
    for _ in range(int(timeout_s / 0.5)):  # steps delayed by the fault (a paused broker) fire late, once
        if not missing:
            break
        await asyncio.sleep(0.5)
        missing = await db.fetch(missing_sql)
    assert not missing, f"due escalation steps that never fired: {[r['incident_id'] for r in missing[:5]]}"


async def check_invariants(settings: CommonSettings, db: asyncpg.Connection, ledger: Ledger | None) -> Folded:
    """Every acknowledged command is in the log once; the read model is exactly the fold of the log."""
    await settle(settings, db)
    report = await check(settings)
    assert report.ok, f"the read model differs from the fold of the log: {report.differences[:10]}"
    folded = Folded(in_log=await count_in_log(settings))
    folded.verdicts = {
        r["event_id"]: r["verdict"] for r in await db.fetch("SELECT event_id, verdict FROM event_verdicts")
    }
    if ledger is not None:
        missing = [e for e in ledger.acknowledged if folded.in_log[e] == 0]
        assert not missing, f"{len(missing)} acknowledged commands are not in the log"
        twice = [e for e in ledger.acknowledged if folded.in_log[e] > 1]
        assert not twice, f"{len(twice)} acknowledged commands are in the log more than once"
        unjudged = [e for e in ledger.acknowledged if e not in folded.verdicts]
        assert not unjudged, f"{len(unjudged)} acknowledged commands have no verdict"
    await check_escalations(db)
    gaps = await db.fetch(
        "SELECT incident_id FROM incident_events GROUP BY incident_id HAVING count(*) <> max(version)"
        " OR min(version) <> 1"
    )
    assert not gaps, f"incidents with gaps in their versions: {[g['incident_id'] for g in gaps]}"
    return folded
