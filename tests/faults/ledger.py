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
from incidentctl.logreader import read_log
from incidents_shared.domain.codec import decode
from incidents_shared.domain.errors import UndecodableEvent
from incidents_shared.domain.fold import VerdictKind, judge
from incidents_shared.domain.state import Incident
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
    states: dict[UUID, Incident] = field(default_factory=dict)
    verdicts: dict[UUID, str] = field(default_factory=dict)
    in_log: Counter[UUID] = field(default_factory=Counter)
    poison: int = 0


async def fold_log(settings: CommonSettings) -> Folded:
    """Replay the whole log through the shared fold, as any reader would."""
    folded, parked = Folded(), set()
    async for _, batch in read_log(settings):
        for record in batch:
            if record.key in parked:  # a poison record parks the rest of its incident (decision 0006)
                continue
            try:
                event = decode(record.value)
            except UndecodableEvent:
                folded.poison += 1
                parked.add(record.key)
                continue
            folded.in_log[event.event_id] += 1
            verdict, state = judge(folded.states.get(event.incident_id), event, seen=event.event_id in folded.verdicts)
            if verdict.kind is VerdictKind.DUPLICATE:
                continue
            folded.verdicts[event.event_id] = verdict.kind.value
            if state is not None:
                folded.states[event.incident_id] = state
    return folded


async def check_invariants(settings: CommonSettings, db: asyncpg.Connection, ledger: Ledger | None) -> Folded:
    """Every acknowledged command is in the log once and judged once; the read model is the fold of the log."""
    await settle(settings, db)
    folded = await fold_log(settings)
    if ledger is not None:
        missing = [e for e in ledger.acknowledged if folded.in_log[e] == 0]
        assert not missing, f"{len(missing)} acknowledged commands are not in the log"
        twice = [e for e in ledger.acknowledged if folded.in_log[e] > 1]
        assert not twice, f"{len(twice)} acknowledged commands are in the log more than once"
    rows = await db.fetch("SELECT incident_id, version, revision, last_hash FROM incidents")
    model = {r["incident_id"]: (r["version"], r["revision"], r["last_hash"]) for r in rows}
    expected = {i: (s.version, s.revision, s.last_hash) for i, s in folded.states.items()}
    differences = {
        i: (model.get(i), expected.get(i)) for i in model.keys() | expected.keys() if model.get(i) != expected.get(i)
    }
    assert not differences, f"the read model differs from the fold of the log: {list(differences.items())[:5]}"
    verdicts = {r["event_id"]: r["verdict"] for r in await db.fetch("SELECT event_id, verdict FROM event_verdicts")}
    assert verdicts == folded.verdicts, "stored verdicts differ from the fold's"
    gaps = await db.fetch(
        "SELECT incident_id FROM incident_events GROUP BY incident_id HAVING count(*) <> max(version)"
        " OR min(version) <> 1"
    )
    assert not gaps, f"incidents with gaps in their versions: {[g['incident_id'] for g in gaps]}"
    return folded
