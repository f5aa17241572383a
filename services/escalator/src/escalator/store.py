"""The escalator's PostgreSQL side: its fold, timers and outbox, written with the offsets in one transaction."""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from incidents_shared.db import Conn, JsonText
from incidents_shared.domain.escalation.book import PolicyVersionChanged
from incidents_shared.domain.escalation.destinations import destination_json, destination_of
from incidents_shared.domain.escalation.fold import Known, Outcome
from incidents_shared.domain.escalation.policy import ChannelKind, Policy
from incidents_shared.domain.escalation.recipients import Delivery
from incidents_shared.domain.escalation.storm import Hold
from incidents_shared.domain.escalation.timers import Timer, TimerKind
from incidents_shared.domain.state import Incident
from incidents_shared.names import FOLD_LOCK
from incidents_shared.offsets import store_offsets

_ARM = (
    "INSERT INTO escalator_timers (timer_id, incident_id, kind, step, due_at, partition, causation_id,"
    " correlation_id, payload) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    " ON CONFLICT (timer_id) DO UPDATE SET status = 'pending', armed_at = now()"
    " WHERE escalator_timers.status = 'cancelled'"  # a fired timer never fires again
)
_OUTBOX = (
    "INSERT INTO escalator_outbox (delivery_id, incident_id, about_event_id, partition, channel, kind, destination,"
    " target,"
    " body, drill, undeliverable, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
    " CASE WHEN $10 THEN 'drill' ELSE 'pending' END) ON CONFLICT (delivery_id) DO NOTHING"
)
NO_KIND = "none"  # the kind column of an undeliverable delivery
_HOLD = (  # a page held in a storm, for its digest (escalator.storms); its first record wins
    "INSERT INTO escalator_storm_holds (digest_id, page_id, user_id, incident_id, event_id, held_at, contact_kind,"
    " contact_address) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING"
)
_TIMER_COLUMNS = "timer_id, incident_id, kind, step, due_at, partition, causation_id, correlation_id, payload"
_DELIVERY_COLUMNS = (
    "delivery_id, incident_id, about_event_id, partition, channel, kind, destination, target, body, drill,"
    " undeliverable"
)


async def load_known(conn: Conn, ids: set[UUID], event_ids: set[UUID], keys: set[str]) -> Known:
    states = await states_of(conn, ids)
    seen = await conn.fetch("SELECT event_id FROM escalator_seen WHERE event_id = ANY($1::uuid[])", list(event_ids))
    parked = await conn.fetch(
        "SELECT incident_key FROM escalator_parked WHERE incident_key = ANY($1::text[])", list(keys)
    )
    return Known(
        states=states,
        seen={r["event_id"] for r in seen},
        parked={r["incident_key"] for r in parked},
    )


# Every escalator batch holds this advisory lock shared for its transaction; releasing a parked incident takes it
# exclusively, so that no batch that still saw the incident parked commits after the release (decision 0062).


async def lock_shared(conn: Conn) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock_shared($1)", FOLD_LOCK)


async def write(conn: Conn, outcome: Outcome, group: str, topic: str) -> None:
    """Write a batch's outcome; the caller holds the transaction that also covers the offsets."""
    await write_judged(conn, outcome)
    await store_offsets(conn, group, topic, outcome.next_offsets)


async def write_judged(conn: Conn, outcome: Outcome) -> None:
    """States, judged ids, parking, timers, deliveries and storm holds; the offsets are the caller's business."""
    if outcome.parked:
        await conn.executemany(
            'INSERT INTO escalator_parked (incident_key, partition, "offset") VALUES ($1, $2, $3)'
            " ON CONFLICT DO NOTHING",
            [(key, p, o) for key, (p, o) in outcome.parked.items()],
        )
    if outcome.judged:
        await conn.execute(
            "INSERT INTO escalator_seen (event_id) SELECT unnest($1::uuid[]) ON CONFLICT DO NOTHING", outcome.judged
        )
    if outcome.states:
        await conn.executemany(
            "INSERT INTO escalator_incidents (incident_id, state) VALUES ($1, $2) ON CONFLICT (incident_id)"
            " DO UPDATE SET state = EXCLUDED.state, updated_at = now()",
            [(s.incident_id, JsonText(s.model_dump_json())) for s in outcome.states.values()],
        )
    if outcome.cancel:
        pairs = sorted(outcome.cancel)
        await conn.execute(
            "UPDATE escalator_timers t SET status = 'cancelled' FROM unnest($1::uuid[], $2::text[]) AS c(i, k)"
            " WHERE t.incident_id = c.i AND t.kind = c.k AND t.status = 'pending'",
            [i for i, _ in pairs],
            [k.value for _, k in pairs],
        )
    if outcome.arm:
        await conn.executemany(_ARM, [_timer_row(t) for t in outcome.arm.values()])
    if outcome.deliveries:
        await conn.executemany(_OUTBOX, [_delivery_row(d) for d in outcome.deliveries])
    if outcome.holds:
        await conn.executemany(_HOLD, [_hold_row(h) for h in outcome.holds])


def _hold_row(h: Hold) -> tuple[Any, ...]:
    return (h.digest_id, h.page_id, h.user, h.incident_id, h.event_id, h.held_at, h.contact_kind.value,
            h.contact_address)  # fmt: skip


def _timer_row(t: Timer) -> tuple[Any, ...]:
    return (t.timer_id, t.incident_id, t.kind.value, t.step, t.due_at, t.partition, t.causation_id,
            t.correlation_id, t.payload)  # fmt: skip


def _delivery_row(d: Delivery) -> tuple[Any, ...]:
    return (d.delivery_id, d.incident_id, d.about_event_id, d.partition, d.channel,
            d.kind.value if d.kind else NO_KIND, destination_json(d.destination), d.target, d.body, d.drill,
            d.undeliverable)  # fmt: skip


def _delivery(row: Mapping[str, Any]) -> Delivery:
    fields = {k: v for k, v in row.items() if k in _DELIVERY_FIELDS}
    kind = None if row["kind"] == NO_KIND else ChannelKind(row["kind"])
    return Delivery(**{**fields, "kind": kind, "destination": destination_of(row["destination"])})


_DELIVERY_FIELDS = frozenset(_DELIVERY_COLUMNS.replace(" ", "").split(","))


async def claim_due_timers(conn: Conn, partitions: list[int], now: datetime, limit: int) -> list[Timer]:
    """The due timers of these partitions, locked until the caller's transaction ends; rows another escalator
    holds are skipped (call inside a transaction)."""
    rows = await conn.fetch(
        f"SELECT {_TIMER_COLUMNS} FROM escalator_timers WHERE status = 'pending' AND partition = ANY($1::int[])"
        " AND due_at <= $2 ORDER BY due_at, seq LIMIT $3 FOR UPDATE SKIP LOCKED",
        partitions,
        now,
        limit,
    )
    return [Timer(**{**dict(r), "kind": TimerKind(r["kind"])}) for r in rows]


async def states_of(conn: Conn, ids: Iterable[UUID]) -> dict[UUID, Incident]:
    """The escalator's own fold of these incidents: JSON text straight into pydantic-core (no dict between)."""
    rows = await conn.fetch(
        "SELECT state::text FROM escalator_incidents WHERE incident_id = ANY($1::uuid[])", list(ids)
    )
    return {(s := Incident.model_validate_json(r["state"])).incident_id: s for r in rows}


async def mark_fired(conn: Conn, timer_ids: list[UUID], now: datetime) -> None:
    await conn.execute(
        "UPDATE escalator_timers SET status = 'fired', fired_at = $2 WHERE timer_id = ANY($1::uuid[])"
        " AND status = 'pending'",
        timer_ids,
        now,
    )


async def park_timer(conn: Conn, timer_id: UUID, error: str) -> None:
    """Set a timer aside that cannot fire (its event cannot be built): it stays, with the error, for an operator."""
    await conn.execute(
        "UPDATE escalator_timers SET status = 'parked', parked_error = $2 WHERE timer_id = $1 AND status = 'pending'",
        timer_id,
        error[:2000],
    )


async def pending_timer_count(conn: Conn, partitions: list[int]) -> int:
    count = await conn.fetchval(
        "SELECT count(*) FROM escalator_timers WHERE status = 'pending' AND partition = ANY($1::int[])", partitions
    )
    return int(count or 0)


async def due_deliveries(
    conn: Conn, partitions: list[int], now: datetime, exclude: list[UUID], limit: int
) -> list[tuple[Delivery, int]]:
    rows = await conn.fetch(
        f"SELECT {_DELIVERY_COLUMNS}, attempts FROM escalator_outbox WHERE status = 'pending'"
        " AND partition = ANY($1::int[]) AND next_attempt_at <= $2 AND NOT delivery_id = ANY($3::uuid[])"
        " ORDER BY next_attempt_at, seq LIMIT $4",
        partitions,
        now,
        exclude,
        limit,
    )
    return [(_delivery(dict(r)), int(r["attempts"])) for r in rows]


# Outbox claims are session advisory locks (class, hash of the delivery id): held by one process's claims
# connection while it delivers, gone the moment that process dies (decision 0096). A hash collision only makes a
# delivery wait for the other one to finish.
OUTBOX_LOCK_CLASS = 0x0E5C


async def try_claim(conn: Conn, ids: list[UUID]) -> set[UUID]:
    """The ids of `ids` this session now holds (each at most once: claim what is not yet held by us)."""
    rows = await conn.fetch(
        "SELECT d FROM unnest($1::uuid[]) AS d WHERE pg_try_advisory_lock($2, hashtext(d::text))",
        ids,
        OUTBOX_LOCK_CLASS,
    )
    return {r["d"] for r in rows}


async def release_claims(conn: Conn, ids: list[UUID]) -> None:
    await conn.execute(
        "SELECT pg_advisory_unlock($2, hashtext(d::text)) FROM unnest($1::uuid[]) AS d", ids, OUTBOX_LOCK_CLASS
    )


async def still_in(conn: Conn, ids: list[UUID], statuses: list[str]) -> set[UUID]:
    """Which of `ids` are still in one of `statuses` (read after claiming: another escalator may have finished
    one between our read and our claim)."""
    rows = await conn.fetch(
        "SELECT delivery_id FROM escalator_outbox WHERE delivery_id = ANY($1::uuid[]) AND status = ANY($2::text[])",
        ids,
        statuses,
    )
    return {r["delivery_id"] for r in rows}


async def record_retry(conn: Conn, delivery_id: UUID, attempts: int, next_attempt_at: datetime, error: str) -> None:
    """A temporary failure: tried again at `next_attempt_at`."""
    await conn.execute(
        "UPDATE escalator_outbox SET attempts = $2, next_attempt_at = $3, last_error = $4, updated_at = now()"
        " WHERE delivery_id = $1 AND status = 'pending'",
        delivery_id,
        attempts,
        next_attempt_at,
        error,
    )


async def record_outcome(conn: Conn, delivery_id: UUID, attempts: int, at: datetime, error: str | None) -> None:
    """The outcome, before it is appended: 'delivered' (accepted) or 'abandoned' (failed for good); never sent
    again, whatever happens to the log meanwhile (decision 0079)."""
    await conn.execute(
        "UPDATE escalator_outbox SET status = CASE WHEN $4::text IS NULL THEN 'delivered' ELSE 'abandoned' END,"
        " attempts = $2, outcome_at = $3, last_error = $4, updated_at = now()"
        " WHERE delivery_id = $1 AND status = 'pending'",
        delivery_id,
        attempts,
        at,
        error,
    )


async def mark_appended(conn: Conn, delivery_id: UUID) -> None:
    """Its outcome is on the log: 'sent' or 'failed'."""
    await conn.execute(
        "UPDATE escalator_outbox SET status = CASE status WHEN 'delivered' THEN 'sent' ELSE 'failed' END,"
        " updated_at = now() WHERE delivery_id = $1 AND status IN ('delivered', 'abandoned')",
        delivery_id,
    )


@dataclass(frozen=True)
class Settled:
    """A delivery whose outcome is known and recorded but not yet on the log."""

    delivery: Delivery
    attempts: int
    error: str | None
    at: datetime


async def outcomes_to_append(conn: Conn, partitions: list[int], exclude: list[UUID], limit: int) -> list[Settled]:
    rows = await conn.fetch(
        f"SELECT {_DELIVERY_COLUMNS}, attempts, last_error, outcome_at FROM escalator_outbox"
        " WHERE status IN ('delivered', 'abandoned') AND partition = ANY($1::int[])"
        " AND NOT delivery_id = ANY($2::uuid[]) ORDER BY outcome_at, seq LIMIT $3",
        partitions,
        exclude,
        limit,
    )
    return [Settled(_delivery(dict(r)), int(r["attempts"]), r["last_error"], r["outcome_at"]) for r in rows]


async def register_policy(conn: Conn, policy: Policy) -> list[Policy]:
    """Record the policy in force and return every version seen; refuse an id + version whose content changed."""
    async with conn.transaction():
        await conn.execute("LOCK TABLE escalator_policies IN EXCLUSIVE MODE")
        known = await conn.fetchval(
            "SELECT content_hash FROM escalator_policies WHERE policy_id = $1 AND version = $2",
            policy.id,
            policy.version,
        )
        if known is not None and known != policy.content_hash():
            raise PolicyVersionChanged(
                f"policy {policy.id} version {policy.version} was used before with other content;"
                " bump the version to change it (running incidents keep the version they started with)"
            )
        if known is None:
            await conn.execute(
                "INSERT INTO escalator_policies (policy_id, version, content_hash, document) VALUES ($1, $2, $3, $4)",
                policy.id,
                policy.version,
                policy.content_hash(),
                json.loads(policy.model_dump_json(exclude={"channels"})),  # deployment configuration, never stored
            )
        rows = await conn.fetch("SELECT document FROM escalator_policies")
    return [Policy.model_validate(r["document"]) for r in rows]
