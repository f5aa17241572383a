"""Operations: incidents parked behind a poison event, and releasing them after a fix."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from command_api.auth import Principal
from command_api.deps import ContainerDep, require
from command_api.problems import Problem
from incidents_shared.domain.enums import Role
from projector.release import NotParked, StillPoison, release

router = APIRouter(prefix="/v1/operations", tags=["operations"])
Inspector = Annotated[Principal, Depends(require(frozenset({Role.ADMIN, Role.AUDITOR})))]
Admin = Annotated[Principal, Depends(require(frozenset({Role.ADMIN})))]
Key = Annotated[str, Path(max_length=200, description="the incident id (the record key) that is parked")]


@router.get("/parked", summary="Incidents parked behind a poison event, with the records waiting behind it")
async def parked(box: ContainerDep, _: Inspector) -> dict[str, Any]:
    return {"parked": await box.read_model.parked()}


@router.post("/parked/{key}/release", summary="Judge the parked records again, in log order, and unpark")
async def release_parked(key: Key, box: ContainerDep, _: Admin) -> dict[str, Any]:
    async with box.read_model.pool.acquire() as conn:
        try:
            done = await release(conn, key)
        except NotParked as exc:
            raise Problem(404, "not-parked", "Nothing is parked under this key", str(exc)) from exc
        except StillPoison as exc:
            raise Problem(
                409, "still-poison", "The poison record still cannot be judged; it stays parked", str(exc)
            ) from exc
    return {"key": done.key, "released": True, "judged": done.judged, "accepted": done.accepted}
