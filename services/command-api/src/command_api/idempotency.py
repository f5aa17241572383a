"""Remembered answers per principal and Idempotency-Key, kept in PostgreSQL so they survive restarts."""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg


@dataclass(frozen=True)
class StoredKey:
    fresh: bool  # claimed by this request (not a retry)
    request_hash: str
    command_id: UUID
    status_code: int | None
    response: Any
    etag: str | None


class IdempotencyStore:
    def __init__(self, pool: "asyncpg.Pool[asyncpg.Record]") -> None:
        self.pool = pool

    async def claim(self, principal: str, key: str, request_hash: str, command_id: UUID) -> StoredKey:
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
            "SELECT request_hash, command_id, status_code, response, etag FROM idempotency_keys"
            " WHERE principal = $1 AND key = $2",
            principal,
            key,
        )
        assert row is not None
        return StoredKey(fresh=bool(inserted), **dict(row))

    async def remember(self, principal: str, key: str, status_code: int, response: Any, etag: str | None) -> None:
        await self.pool.execute(
            "UPDATE idempotency_keys SET status_code = $3, response = $4, etag = $5 WHERE principal = $1 AND key = $2",
            principal,
            key,
            status_code,
            response,
            etag,
        )
