"""Replays of Slack's signed requests, refused across every command API instance (migration 0017).

A genuine signature is recorded the first time it is seen; the same signature again, within the window its
timestamp is accepted in, is a replay. Rows out of the window are deleted as requests come: their timestamps
fail the freshness check anyway.
"""

from datetime import datetime
from typing import Protocol

from command_api.slack.signature import MAX_SKEW, SignedRequest
from incidents_shared.db import Pool

_FIRST_SEEN = """
INSERT INTO slack_requests_seen (signature, signed_at, seen_at) VALUES ($1, $2, $3)
ON CONFLICT (signature) DO NOTHING RETURNING signature
"""
_PRUNE = "DELETE FROM slack_requests_seen WHERE signed_at < $1"


class SeenSignatures(Protocol):
    async def first_seen(self, signed: SignedRequest, now: datetime) -> bool:
        """Record `signed`; False when it was recorded before (a replay)."""


class PgSeenSignatures:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def first_seen(self, signed: SignedRequest, now: datetime) -> bool:
        async with self._pool.acquire() as conn:
            await conn.execute(_PRUNE, now - 2 * MAX_SKEW)  # twice the window: a margin for other instances' clocks
            return await conn.fetchval(_FIRST_SEEN, signed.signature, signed.signed_at, now) is not None
