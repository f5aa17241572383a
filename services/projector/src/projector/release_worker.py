"""Carries out the release requests the API records: the projector owns the read model and the fixing code."""

import asyncio

import structlog

from incidents_shared.db import DATABASE_ERRORS, Pool
from incidents_shared.names import RELEASED_CHANNEL
from incidents_shared.supervise import run_when_woken
from projector.release import NotParked, StillPoison, release

log = structlog.get_logger(__name__)
RECHECK_S = 2.0  # a notification lost on a dead connection not yet noticed delays a release by at most this much


class ReleaseWorker:
    """A supervised worker: woken by the listener on RELEASE_CHANNEL (and after each reconnect), and every
    RECHECK_S, it carries out every release request without an outcome."""

    def __init__(self, pool: Pool, recheck_s: float = RECHECK_S) -> None:
        self.pool, self.recheck_s = pool, recheck_s
        self.wake = asyncio.Event()

    def notified(self, payload: str | None) -> None:
        """The listener's callback: a request id, or None after a reconnect (a request may have been missed)."""
        self.wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        retried = DATABASE_ERRORS
        await run_when_woken(
            stop, self.wake, self.recheck_s, self.work_once, retried, "release_worker_store_unavailable"
        )

    async def work_once(self) -> None:
        rows = await self.pool.fetch(
            "SELECT request_id, incident_key FROM release_requests WHERE outcome IS NULL ORDER BY request_id"
        )
        for row in rows:
            await self._carry_out(row["request_id"], row["incident_key"])

    async def _carry_out(self, request_id: int, key: str) -> None:
        judged = accepted = None
        async with self.pool.acquire() as conn:
            try:
                done = await release(conn, key)
                outcome, detail, judged, accepted = "released", None, done.judged, done.accepted
            except NotParked as exc:
                outcome, detail = "not_parked", str(exc)
            except StillPoison as exc:
                outcome, detail = "still_poison", str(exc)
            await conn.execute(
                "UPDATE release_requests SET outcome = $2, detail = $3, judged = $4, accepted = $5,"
                " finished_at = now() WHERE request_id = $1",
                request_id,
                outcome,
                detail,
                judged,
                accepted,
            )
            if outcome == "released":
                await conn.execute("SELECT pg_notify($1, $2)", RELEASED_CHANNEL, key)  # the escalator follows
        log.info("release_request_done", incident_key=key, outcome=outcome, judged=judged)
