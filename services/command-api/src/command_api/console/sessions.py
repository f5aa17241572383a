"""Console sessions in PostgreSQL (migration 0021): the cookie holds a random secret, the table only its hash.

A session remembers the hash of the personal token it was opened with; `identity.py` resolves that hash on the
directory at every request, so a revoked token or a removed person ends the session at once. The CSRF token of a
session is derived from its secret (its hash under a distinct prefix): the server holds no copy of it and
a page of another origin cannot compute it.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from incidents_shared.db import Pool

COOKIE = "incidents_console"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def csrf_token(secret: str) -> str:
    """The per-session anti-forgery token that every state-changing console request carries."""
    return _digest("csrf\x00" + secret)


def csrf_matches(secret: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(csrf_token(secret), presented)


@dataclass(frozen=True)
class Session:
    user_id: str
    token_hash: str
    expires_at: datetime


class PgSessions:
    """Open, find and end sessions; rows past their expiry are refused and swept when a session opens."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def open(self, user_id: str, token_hash: str, now: datetime, ttl: timedelta) -> str:
        """A new session for `user_id`; returns the secret for the cookie (never stored)."""
        secret = secrets.token_urlsafe(32)
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM console_sessions WHERE expires_at <= $1", now)
            await conn.execute(
                "INSERT INTO console_sessions (session_hash, user_id, token_hash, created_at, expires_at)"
                " VALUES ($1, $2, $3, $4, $5)",
                _digest(secret),
                user_id,
                token_hash,
                now,
                now + ttl,
            )
        return secret

    async def find(self, secret: str, now: datetime) -> Session | None:
        row = await self._pool.fetchrow(
            "SELECT user_id, token_hash, expires_at FROM console_sessions WHERE session_hash = $1 AND expires_at > $2",
            _digest(secret),
            now,
        )
        return Session(row["user_id"], row["token_hash"], row["expires_at"]) if row is not None else None

    async def end(self, secret: str) -> None:
        await self._pool.execute("DELETE FROM console_sessions WHERE session_hash = $1", _digest(secret))
