"""Following the projector's release of a parked incident (decision 0062).

The escalator parks an incident behind a poison record like the projector (decision 0006) and skips its later
records without storing them. Once the projector has released the incident (an operator's request, after a fix
is deployed), the escalator re-reads that incident's records from the log, from the poison record up to where its
own consumer stands, and folds them with its own batch code: the state catches up, timers are armed or
cancelled and notifications queued as if the records had never been held back (a breach that fell due while
parked fires on the next tick). Offsets do not move: the consumer passed these records long ago.
"""

import asyncio
import time
from dataclasses import dataclass, field

import structlog
from aiokafka.errors import KafkaError

from escalator import store
from escalator.ports import PeopleNow
from escalator.settings import GROUP_ID
from incidents_shared.db import DATABASE_ERRORS, Conn, Pool
from incidents_shared.domain.escalation.book import PolicyBook
from incidents_shared.domain.escalation.fold import fold_batch
from incidents_shared.domain.escalation.people import People
from incidents_shared.domain.record import Record
from incidents_shared.domain.walk import decode_records, events_of
from incidents_shared.logrange import records_between
from incidents_shared.names import FOLD_LOCK
from incidents_shared.offsets import load_offsets
from incidents_shared.settings import CommonSettings
from incidents_shared.supervise import run_when_woken

log = structlog.get_logger(__name__)

RECHECK_S = 2.0
STILL_POISON_RETRY_S = 60.0  # a record this escalator still cannot decode (its fix not deployed here yet)
PROJECTOR_GROUP = "projector"  # the projector's consumer group (the services never import each other)

# Parked here, while the projector has passed the poison record, does not hold the incident parked and holds no
# unreleased dead letter for that record: the projector judged it (after a release, or it never parked it).
_RELEASED_BY_PROJECTOR = (
    "SELECT e.incident_key FROM escalator_parked e WHERE NOT EXISTS (SELECT 1 FROM parked_incidents p"
    " WHERE p.incident_key = e.incident_key)"
    ' AND NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.partition = e.partition AND d."offset" = e."offset"'
    " AND d.released_at IS NULL)"
    " AND EXISTS (SELECT 1 FROM consumer_offsets c WHERE c.group_id = $1 AND c.topic = $2"
    ' AND c.partition = e.partition AND c.next_offset > e."offset")'
    " ORDER BY e.parked_at"
)


class NotParked(LookupError):
    """The escalator holds no incident parked under this key."""


class StillPoison(ValueError):
    """The poison record still does not decode here; the incident stays parked."""


@dataclass(frozen=True)
class Released:
    key: str
    records: int  # the incident's records re-read from the log
    judged: int  # of which judged (the rest: duplicates)


async def release(pool: Pool, settings: CommonSettings, book: PolicyBook, people: People, key: str) -> Released:
    """Fold the incident's held-back records and unpark it, in one transaction under the fold lock."""
    async with pool.acquire() as conn:
        partition, poison = await _parked_at(conn, key)
        read_to = (await load_offsets(conn, GROUP_ID, settings.events_topic)).get(partition, 0)
    # The bulk is read before the lock (a long-parked incident may sit behind many records of others).
    records = await _records_of(settings, key, partition, poison, read_to)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", FOLD_LOCK)  # no batch in flight from here
        if await _parked_at(conn, key) != (partition, poison):
            raise NotParked(key)  # released meanwhile (by another escalator instance)
        end = (await load_offsets(conn, GROUP_ID, settings.events_topic)).get(partition, 0)
        records += await _records_of(settings, key, partition, read_to, end)
        batch = decode_records(records)
        events = events_of(batch)
        known = await store.load_known(conn, {e.incident_id for e in events}, {e.event_id for e in events}, set())
        outcome = fold_batch(batch, known, book, people)
        if outcome.parked:
            where = next(iter(outcome.parked.values()))
            raise StillPoison(f"record {where[0]}:{where[1]} of {key} still cannot be judged here")
        await store.write_judged(conn, outcome)
        await conn.execute("DELETE FROM escalator_parked WHERE incident_key = $1", key)
    return Released(key, len(records), len(outcome.judged))


async def _parked_at(conn: Conn, key: str) -> tuple[int, int]:
    row = await conn.fetchrow('SELECT partition, "offset" FROM escalator_parked WHERE incident_key = $1', key)
    if row is None:
        raise NotParked(key)
    return int(row["partition"]), int(row["offset"])


async def _records_of(settings: CommonSettings, key: str, partition: int, start: int, end: int) -> list[Record]:
    found: list[Record] = []
    async for batch in records_between(settings, {partition: start}, {partition: end}, batch=5_000):
        found += [r for r in batch if r.incident_key == key]
    return found


@dataclass
class ReleaseFollower:
    """Releases here what the projector has released: woken by the listener on RELEASED_CHANNEL (and after each
    reconnect), and every RECHECK_S in any case."""

    pool: Pool
    settings: CommonSettings
    book: PolicyBook
    people: PeopleNow
    retry_at: dict[str, float] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def notified(self, payload: str | None) -> None:
        """The listener's callback: a released incident's key, or None after a reconnect."""
        self.wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        retried = (*DATABASE_ERRORS, KafkaError)
        await run_when_woken(stop, self.wake, RECHECK_S, self.follow_once, retried, "release_follower_unavailable")

    async def follow_once(self) -> list[Released]:
        """Release every incident the projector has released; those that still do not decode wait a while."""
        rows = await self.pool.fetch(_RELEASED_BY_PROJECTOR, PROJECTOR_GROUP, self.settings.events_topic)
        done = []
        for key in (r["incident_key"] for r in rows):
            if self.retry_at.get(key, 0.0) > time.monotonic():
                continue
            try:
                released = await release(self.pool, self.settings, self.book, self.people(), key)
            except NotParked:
                continue
            except StillPoison as exc:
                self.retry_at[key] = time.monotonic() + STILL_POISON_RETRY_S
                log.warning("parked_incident_still_poison", incident_key=key, error=str(exc))
                continue
            self.retry_at.pop(key, None)
            done.append(released)
            log.info("parked_incident_released", incident_key=key, records=released.records, judged=released.judged)
        return done
