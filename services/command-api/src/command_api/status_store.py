"""The status page's subscribers in PostgreSQL (migration 0018): pending, confirmed, erased.

Only SHA-256 hashes of tokens are stored. Unsubscribing deletes the subscriber's row: the address, its tokens and
its outbox rows are gone (the foreign keys cascade).
"""

import hashlib
import uuid
from datetime import datetime

from incidents_shared.db import Conn, Pool


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class PgSubscribers:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    async def request(self, email: str, confirm: str, unsubscribe: str, expires_at: datetime, now: datetime) -> bool:
        """Record a subscription request for `email` with the tokens' hashes; False when the address is confirmed
        already (nothing to mail). A pending request gets the new confirmation token (the old link stops)."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "DELETE FROM status_subscribers WHERE confirmed_at IS NULL AND confirm_expires_at < $1", now
            )
            subscriber_id = await _upsert_pending(conn, email, confirm, expires_at, now)
            if subscriber_id is None:
                return False
            await conn.execute(
                "INSERT INTO status_unsubscribe_tokens (token_hash, subscriber_id, created_at) VALUES ($1, $2, $3)",
                unsubscribe,
                subscriber_id,
                now,
            )
            return True

    async def is_pending(self, confirm: str, now: datetime) -> bool:
        async with self.pool.acquire() as conn:
            found = await conn.fetchval(
                "SELECT 1 FROM status_subscribers WHERE confirm_hash = $1 AND confirm_expires_at >= $2", confirm, now
            )
        return found is not None

    async def confirm(self, confirm: str, now: datetime) -> bool:
        async with self.pool.acquire() as conn:
            done = await conn.fetchval(
                "UPDATE status_subscribers SET confirmed_at = $2, confirm_hash = NULL, confirm_expires_at = NULL"
                " WHERE confirm_hash = $1 AND confirm_expires_at >= $2 RETURNING subscriber_id",
                confirm,
                now,
            )
        return done is not None

    async def erase(self, unsubscribe: str) -> bool:
        """Delete the subscriber this unsubscribe token belongs to (True), or nothing (an unknown token)."""
        async with self.pool.acquire() as conn:
            erased = await conn.fetchval(
                "DELETE FROM status_subscribers WHERE subscriber_id ="
                " (SELECT subscriber_id FROM status_unsubscribe_tokens WHERE token_hash = $1) RETURNING subscriber_id",
                unsubscribe,
            )
        return erased is not None


async def _upsert_pending(
    conn: Conn, email: str, confirm: str, expires_at: datetime, now: datetime
) -> uuid.UUID | None:
    """A new pending subscriber, or the pending one's new confirmation; None when `email` is confirmed already."""
    subscriber_id: uuid.UUID | None = await conn.fetchval(
        "INSERT INTO status_subscribers (subscriber_id, email, confirm_hash, confirm_expires_at, created_at)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (email) DO UPDATE"
        " SET confirm_hash = EXCLUDED.confirm_hash, confirm_expires_at = EXCLUDED.confirm_expires_at"
        " WHERE status_subscribers.confirmed_at IS NULL RETURNING subscriber_id",
        uuid.uuid4(),
        email,
        confirm,
        expires_at,
        now,
    )
    return subscriber_id
