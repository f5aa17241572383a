"""Operations: incidents parked behind a poison event, and releasing them after a fix.

The API only records the request; the projector, which owns the read model and runs the fixed code, carries it
out (projector/release_worker.py) and the API waits, bounded, for the outcome.
"""

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse

from command_api.auth import Principal
from command_api.deps import ContainerDep, require
from command_api.problems import Problem
from incidents_shared.domain.enums import Role
from incidents_shared.readside import RELEASE_CHANNEL

router = APIRouter(prefix="/v1/operations", tags=["operations"])
Inspector = Annotated[Principal, Depends(require(frozenset({Role.ADMIN, Role.AUDITOR})))]
Admin = Annotated[Principal, Depends(require(frozenset({Role.ADMIN})))]
Key = Annotated[str, Path(max_length=200, description="the incident id (the record key) that is parked")]
WAIT_S, POLL_S = 10.0, 0.1


@router.get("/parked", summary="Incidents parked behind a poison event, with the records waiting behind it")
async def parked(box: ContainerDep, _: Inspector) -> dict[str, Any]:
    return {"parked": await box.read_model.parked()}


@router.post("/parked/{key}/release", summary="Judge the parked records again, in log order, and unpark")
async def release_parked(key: Key, box: ContainerDep, principal: Admin) -> JSONResponse:
    pool = box.read_model.pool
    async with pool.acquire() as conn, conn.transaction():
        request_id = await conn.fetchval(
            "INSERT INTO release_requests (incident_key, requested_by) VALUES ($1, $2) RETURNING request_id",
            key,
            principal.id,
        )
        await conn.execute("SELECT pg_notify($1, $2)", RELEASE_CHANNEL, str(request_id))
    for _ in range(int(WAIT_S / POLL_S)):
        row = await pool.fetchrow(
            "SELECT outcome, detail, judged, accepted FROM release_requests WHERE request_id = $1", request_id
        )
        if row is not None and row["outcome"] is not None:
            return _answer(key, row["outcome"], row["detail"], row["judged"], row["accepted"])
        await asyncio.sleep(POLL_S)
    return JSONResponse({"key": key, "status": "pending", "request_id": request_id}, status_code=202)


def _answer(key: str, outcome: str, detail: str | None, judged: int | None, accepted: int | None) -> JSONResponse:
    if outcome == "not_parked":
        raise Problem(404, "not-parked", "Nothing is parked under this key", detail)
    if outcome == "still_poison":
        raise Problem(409, "still-poison", "The poison record still cannot be judged; it stays parked", detail)
    return JSONResponse({"key": key, "released": True, "judged": judged, "accepted": accepted})
