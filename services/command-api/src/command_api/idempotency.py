"""Remembered answers per principal and Idempotency-Key, kept in PostgreSQL so they survive restarts."""

from uuid import UUID

import asyncpg

from command_api.http_answers import record, recorded
from command_api.outcomes import Accepted, Pending
from command_api.ports import KeyClaim


class IdempotencyStore:
    """The `IdempotencyKeys` port on the table idempotency_keys: the answer kept as it was sent."""

    def __init__(self, pool: "asyncpg.Pool[asyncpg.Record]") -> None:
        self.pool = pool

    async def claim(self, principal: str, key: str, request_hash: str, command_id: UUID) -> KeyClaim:
        """Record the key if new; return what is stored for it either way."""
        inserted = await self.pool.fetchval(
            "INSERT INTO idempotency_keys (principal, key, request_hash, command_id) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (principal, key) DO NOTHING RETURNING true",
            principal,
            key,
            request_hash,
            command_id,
        )
        row = await self.pool.fetchrow(
            "SELECT request_hash, status_code, response, etag FROM idempotency_keys WHERE principal = $1 AND key = $2",
            principal,
            key,
        )
        assert row is not None
        answer = recorded(row["status_code"], row["response"], row["etag"])
        return KeyClaim(fresh=bool(inserted), request_hash=row["request_hash"], answer=answer)

    async def remember(self, principal: str, key: str, outcome: Accepted | Pending) -> None:
        kept = record(outcome)
        await self.pool.execute(
            "UPDATE idempotency_keys SET status_code = $3, response = $4, etag = $5 WHERE principal = $1 AND key = $2",
            principal,
            key,
            kept.status,
            kept.document,
            kept.etag,
        )
