"""Releasing a parked incident after a fix: its poison record and the records parked behind it are judged
again, in log order, through the same batch code; if the poison still does not decode, it stays parked."""

from dataclasses import dataclass

from incidents_shared.db import Conn
from incidents_shared.domain.record import Record
from incidents_shared.domain.walk import decode_records, events_of
from incidents_shared.projection import store
from incidents_shared.projection.batch import project
from incidents_shared.readside import READ_MODEL_LOCK

_RECORDS = (
    'SELECT partition, "offset", $1::text AS key, value FROM dead_letters'
    " WHERE coalesce(incident_key, partition || ':' || \"offset\") = $1 AND released_at IS NULL"
    ' UNION ALL SELECT partition, "offset", incident_key, value FROM parked_events WHERE incident_key = $1'
    ' ORDER BY partition, "offset"'
)


class NotParked(LookupError):
    """No incident is parked under this key."""


class StillPoison(ValueError):
    """The poison record still cannot be judged; the incident stays parked."""


@dataclass(frozen=True)
class Released:
    key: str
    judged: int
    accepted: int


async def release(conn: Conn, key: str) -> Released:
    """Re-judge and unpark in one transaction, excluding every projector batch meanwhile."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", READ_MODEL_LOCK)
        if await conn.fetchval("SELECT 1 FROM parked_incidents WHERE incident_key = $1", key) is None:
            raise NotParked(key)
        rows = await conn.fetch(_RECORDS, key)
        # The key column of a key-less record is synthetic; the batch code must see the record as logged.
        records = [Record(r["partition"], r["offset"], _real_key(r["key"]), bytes(r["value"] or b"")) for r in rows]
        batch = decode_records(records)
        events = events_of(batch)
        known = await store.load_known(conn, {e.incident_id for e in events}, {e.event_id for e in events}, set())
        outcome = project(batch, known)
        if outcome.dead_letters:
            raise StillPoison(outcome.dead_letters[0][1])
        # No offsets: the consumer moved past these records when it parked them.
        await store.write_judged(conn, outcome)
        await conn.execute("DELETE FROM parked_events WHERE incident_key = $1", key)
        await conn.execute("DELETE FROM parked_incidents WHERE incident_key = $1", key)
        await conn.execute(
            "UPDATE dead_letters SET released_at = now()"
            " WHERE coalesce(incident_key, partition || ':' || \"offset\") = $1 AND released_at IS NULL",
            key,
        )
    return Released(key, len(outcome.verdicts), len(outcome.events))


def _real_key(key: str) -> str | None:
    partition, sep, offset = key.partition(":")
    return None if sep and partition.isdigit() and offset.isdigit() else key
