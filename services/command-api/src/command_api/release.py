"""Releasing an incident parked behind a poison event, after a fix.

The API only files the request; the projector, which owns the read model and runs the fixed code, carries it
out (projector/release_worker.py) and the API waits, bounded, for the outcome.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from command_api.outcomes import NotParked, Released, ReleaseOutcome, ReleasePending, StillPoison
from command_api.ports import ReleaseRequests
from command_api.records import ReleaseRow

WAIT_S, POLL_S = 10.0, 0.1


@dataclass
class ReleaseParked:
    requests: ReleaseRequests
    wait_s: float = WAIT_S
    poll_s: float = POLL_S
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def __call__(self, key: str, requested_by: str) -> ReleaseOutcome:
        request_id = await self.requests.request_release(key, requested_by)
        for _ in range(int(self.wait_s / self.poll_s)):
            if (row := await self.requests.release_outcome(request_id)) is not None:
                return _outcome(key, row)
            await self.sleep(self.poll_s)
        return ReleasePending(key, request_id)


REFUSALS: dict[str, type[NotParked | StillPoison]] = {"not_parked": NotParked, "still_poison": StillPoison}


def _outcome(key: str, row: ReleaseRow) -> ReleaseOutcome:
    refusal = REFUSALS.get(row.outcome)
    return refusal(row.detail) if refusal is not None else Released(key, row.judged, row.accepted)
