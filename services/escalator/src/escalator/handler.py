"""The escalator's fold of the log: the same verdicts as every reader, stored with its offsets."""

import asyncpg
import structlog

from incidents_shared.consumer import Record
from incidents_shared.domain.codec import decode
from incidents_shared.domain.errors import UndecodableEvent
from incidents_shared.domain.fold import judge
from incidents_shared.domain.state import Incident
from incidents_shared.offsets import claim_offsets, first_offsets, load_offsets, store_offsets

log = structlog.get_logger(__name__)


class EscalatorHandler:
    def __init__(self, pool: "asyncpg.Pool[asyncpg.Record]", group: str, topic: str) -> None:
        self.pool = pool
        self.group = group
        self.topic = topic

    async def load_offsets(self) -> dict[int, int]:
        async with self.pool.acquire() as conn:
            return await load_offsets(conn, self.group, self.topic)

    async def handle(self, records: list[Record]) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await claim_offsets(conn, self.group, self.topic, first_offsets(records))
            states: dict[str, Incident | None] = {}
            offsets: dict[int, int] = {}
            for record in records:
                offsets[record.partition] = record.offset + 1
                try:
                    event = decode(record.value)
                except UndecodableEvent as exc:
                    log.warning(
                        "poison_event_skipped", partition=record.partition, offset=record.offset, error=str(exc)
                    )
                    continue
                key = str(event.incident_id)
                if key not in states:
                    raw = await conn.fetchval(
                        "SELECT state FROM escalator_incidents WHERE incident_id = $1", event.incident_id
                    )
                    states[key] = Incident.model_validate(raw) if raw else None
                seen = await conn.fetchval("SELECT 1 FROM escalator_seen WHERE event_id = $1", event.event_id)
                verdict, new = judge(states[key], event, seen=bool(seen))
                if verdict.kind.value == "duplicate":
                    continue
                await conn.execute("INSERT INTO escalator_seen (event_id) VALUES ($1)", event.event_id)
                states[key] = new
            await conn.executemany(
                "INSERT INTO escalator_incidents (incident_id, state) VALUES ($1, $2) ON CONFLICT (incident_id)"
                " DO UPDATE SET state = EXCLUDED.state, updated_at = now()",
                [(s.incident_id, s.model_dump(mode="json")) for s in states.values() if s is not None],
            )
            await store_offsets(conn, self.group, self.topic, offsets)
