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
from incidents_shared.domain.enums import EscalationReason
from incidents_shared.domain.errors import UndecodableEvent
from incidents_shared.domain.events import IncidentEscalated
from incidents_shared.settings import CommonSettings

ROLES = ("responder", "manager")  # the load's principals: each command is sent as one of them
GIVE_UP_S = 45.0  # a client retries a command this long (503s, timeouts) before it gives up
RETRY_S = 1.0


def event_id_for(principal: str, key: str) -> UUID:
    """The first event id of a command sent by `principal` with this Idempotency-Key (docs/decisions/0004)."""
    return uuid.uuid5(uuid.uuid5(IDEMPOTENCY_NS, f"{principal}\x00{key}"), "0")


@dataclass
class Sent:
    """One command as a client sees it: every attempt with the same Idempotency-Key, and how it ended."""

    role: str
    key: str
    path: str
    attempts: list[int | str] = field(default_factory=list)  # HTTP status, or "timeout" / "error"

    @property
    def final(self) -> int | str:
        return self.attempts[-1]

    @property
    def acknowledged(self) -> bool:
        return self.final in (200, 201, 202)

    @property
    def unanswered(self) -> bool:
        """Some attempt got a 503 or no answer: the command may or may not have reached the log."""
        return any(a == 503 or isinstance(a, str) for a in self.attempts)


@dataclass
class Ledger:
    commands: list[Sent] = field(default_factory=list)
    incidents: list[str] = field(default_factory=list)
    creators: dict[str, str] = field(default_factory=dict)  # role -> an incident it created (to learn its id)
    principals: dict[str, str] = field(default_factory=dict)  # role -> principal id, set by `resolve`

    @property
    def sent(self) -> int:
        return len(self.commands)

    @property
    def acknowledged(self) -> list[Sent]:
        return [c for c in self.commands if c.acknowledged]

    @property
    def refused(self) -> Counter[int | str]:
        return Counter(c.final for c in self.commands if not c.acknowledged)

    def attempts(self, outcome: int | str) -> int:
        """How many attempts, over every command, ended with `outcome` (a status, "timeout" or "error")."""
        return sum(c.attempts.count(outcome) for c in self.commands)

    def event_id(self, command: Sent) -> UUID:
        return event_id_for(self.principals[command.role], command.key)

    async def resolve(self, api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
        """Learn each role's principal id from the actor of an incident it created (ids are the API's to name)."""
        for role, incident_id in self.creators.items():
            answer = await api.get(f"/v1/incidents/{incident_id}/timeline", headers=_auth(tokens["auditor"]))
            assert answer.status_code == 200, answer.text
            self.principals[role] = answer.json()["events"][0]["actor"]["id"]
        missing = {c.role for c in self.commands} - set(self.principals)
        assert not missing, f"no incident created by {missing}: their principal ids are unknown"


def _auth(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


class Load:
    """Workers sending a mix of commands (new incidents, notes, acknowledgements, assignments, stakeholder
    updates) as several principals, each command with its own Idempotency-Key, retried with the same key on a 503
    or a timeout as a client would, until it gets an answer or gives up."""

    def __init__(self, api: httpx.AsyncClient, tokens: dict[str, str], workers: int = 8) -> None:
        self.api, self.tokens, self.workers = api, tokens, workers
        self.ledger = Ledger()
        self.stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def _command(self) -> tuple[str, dict[str, object]]:
        incidents = self.ledger.incidents
        if not incidents or random.random() < 0.3:
            body: dict[str, object] = {"title": "fault load", "service": "checkout"}
            if random.random() < 0.1:
                body |= {"impact": "high", "urgency": "high"}
            return "/v1/incidents", body
        target = random.choice(incidents)
        commands: list[tuple[str, dict[str, object]]] = [
            (f"/v1/incidents/{target}/notes", {"text": "fault load note"}),
            (f"/v1/incidents/{target}/notes", {"text": "fault load diagnosis", "kind": "diagnosis"}),
            (f"/v1/incidents/{target}/acknowledge", {}),
            (f"/v1/incidents/{target}/assign", {"team": "service-desk"}),
            (f"/v1/incidents/{target}/updates", {"audience": "stakeholders", "message": "still on it"}),
        ]
        return random.choice(commands)

    async def _one(self) -> None:
        role = random.choice(ROLES)
        path, body = self._command()
        sent = Sent(role, f"fault-{uuid.uuid4()}", path)
        self.ledger.commands.append(sent)
        headers = _auth(self.tokens[role], **{"Idempotency-Key": sent.key})
        started = asyncio.get_running_loop().time()
        while True:
            try:
                answer = await self.api.post(path, json=body, headers=headers, timeout=15)
                sent.attempts.append(answer.status_code)
            except httpx.TimeoutException:
                sent.attempts.append("timeout")
            except httpx.HTTPError:
                sent.attempts.append("error")
            else:
                if answer.status_code != 503:
                    break
            if asyncio.get_running_loop().time() - started > GIVE_UP_S:
                return
            await asyncio.sleep(RETRY_S)
        if answer.status_code == 201 and path == "/v1/incidents":
            self.ledger.incidents.append(answer.json()["incident_id"])
            self.ledger.creators.setdefault(role, answer.json()["incident_id"])

    async def _worker(self) -> None:
        while not self.stop.is_set():
            await self._one()
            await asyncio.sleep(0.01)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._worker()) for _ in range(self.workers)]

    async def finish(self) -> Ledger:
        """Stop sending new commands; the ones being retried finish (answered, or given up)."""
        self.stop.set()
        await asyncio.gather(*self._tasks)
        await self.ledger.resolve(self.api, self.tokens)
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
    """What the checks found: how often each event id is in the log (every record appended, judged or not), the
    automatic escalation records per (incident, level), and the stored verdicts."""

    in_log: Counter[UUID] = field(default_factory=Counter)
    steps: Counter[tuple[UUID, int]] = field(default_factory=Counter)
    verdicts: dict[UUID, str] = field(default_factory=dict)
    retried_found_once: int = 0


async def count_in_log(settings: CommonSettings) -> Folded:
    """Count the records the log holds: what reached the outside, whatever the readers then accepted."""
    folded = Folded()
    async for _, batch in read_log(settings):
        for record in batch:
            try:
                event = decode(record.value)
            except UndecodableEvent:
                continue
            folded.in_log[event.event_id] += 1
            if isinstance(event, IncidentEscalated) and event.data.reason is not EscalationReason.MANUAL:
                folded.steps[(event.incident_id, event.data.level)] += 1
    return folded


LAST_STEP_S = 12  # the fast-demo policy's last automatic step for a P1 (examples/policies/fast-demo.yaml)


async def check_escalations(db: asyncpg.Connection, folded: Folded, timeout_s: float = 30) -> None:
    """No automatic escalation step was appended twice (an escalator firing a timer twice appends a second record,
    which the fold then rejects: the records are counted, not the accepted events), and every step that fell due
    on an unacknowledged P1 fired."""
    twice = {step: n for step, n in folded.steps.items() if n > 1}
    assert not twice, f"escalation steps appended more than once: {list(twice.items())[:10]}"
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
    """Every acknowledged command is in the log once, retried or not; a command that never got an answer is there
    at most once (the platform never invents a fact); the read model is exactly the fold of the log."""
    await settle(settings, db)
    report = await check(settings)
    assert report.ok, f"the read model differs from the fold of the log: {report.differences[:10]}"
    folded = await count_in_log(settings)
    folded.verdicts = {
        r["event_id"]: r["verdict"] for r in await db.fetch("SELECT event_id, verdict FROM event_verdicts")
    }
    if ledger is not None:
        _check_ledger(ledger, folded)
    await check_escalations(db, folded)
    gaps = await db.fetch(
        "SELECT incident_id FROM incident_events GROUP BY incident_id HAVING count(*) <> max(version)"
        " OR min(version) <> 1"
    )
    assert not gaps, f"incidents with gaps in their versions: {[g['incident_id'] for g in gaps]}"
    return folded


def _check_ledger(ledger: Ledger, folded: Folded) -> None:
    acknowledged = [ledger.event_id(c) for c in ledger.acknowledged]
    missing = [e for e in acknowledged if folded.in_log[e] == 0]
    assert not missing, f"{len(missing)} acknowledged commands are not in the log"
    twice = [e for e in acknowledged if folded.in_log[e] > 1]
    assert not twice, f"{len(twice)} acknowledged commands are in the log more than once"
    unjudged = [e for e in acknowledged if e not in folded.verdicts]
    assert not unjudged, f"{len(unjudged)} acknowledged commands have no verdict"
    others = [c for c in ledger.commands if not c.acknowledged]
    invented = [c.key for c in others if folded.in_log[ledger.event_id(c)] > 1]
    assert not invented, f"{len(invented)} unacknowledged commands are in the log more than once: {invented[:5]}"
    retried = [c for c in ledger.acknowledged if c.unanswered]
    folded.retried_found_once = sum(1 for c in retried if folded.in_log[ledger.event_id(c)] == 1)
