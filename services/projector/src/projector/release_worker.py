"""Carries out the release requests the API records: the projector owns the read model and the fixing code."""

import asyncio
import contextlib
from typing import Any

import asyncpg
import structlog

from incidents_shared.consumer import STORE_ERRORS
from incidents_shared.db import Pool
from incidents_shared.readside import RELEASE_CHANNEL
from projector.release import NotParked, StillPoison, release

log = structlog.get_logger(__name__)
RECHECK_S = 2.0  # a missed notification (listener reconnecting) delays a release by at most this much


class ReleaseWorker:
    def __init__(self, pool: Pool, dsn: str) -> None:
        self.pool = pool
        self.dsn = dsn
        self.wake = asyncio.Event()

    async def run(self) -> None:
        while True:
            try:
                await self._listen_and_work()
            except STORE_ERRORS as exc:
                log.warning("release_worker_store_unavailable", error=repr(exc))
                await asyncio.sleep(RECHECK_S)

    async def _listen_and_work(self) -> None:
        listener = await asyncpg.connect(self.dsn)
        try:
            await listener.add_listener(RELEASE_CHANNEL, self._notified)
            while True:
                await self.work_once()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), RECHECK_S)
                self.wake.clear()
        finally:
            await listener.close()

    def _notified(self, *_: Any) -> None:
        self.wake.set()

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
        log.info("release_request_done", incident_key=key, outcome=outcome, judged=judged)
