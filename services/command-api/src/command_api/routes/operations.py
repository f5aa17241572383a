"""Operations: incidents parked behind a poison event, and releasing them after a fix (command_api.release)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response

from command_api.auth import Principal
from command_api.deps import ContainerDep, require
from command_api.http_answers import answer
from incidents_shared.domain.enums import Role

router = APIRouter(prefix="/v1/operations", tags=["operations"])
Inspector = Annotated[Principal, Depends(require(frozenset({Role.ADMIN, Role.AUDITOR})))]
Admin = Annotated[Principal, Depends(require(frozenset({Role.ADMIN})))]
Key = Annotated[str, Path(max_length=200, description="the incident id (the record key) that is parked")]


@router.get("/parked", summary="Incidents parked behind a poison event, with the records waiting behind it")
async def parked(box: ContainerDep, _: Inspector) -> dict[str, Any]:
    return {"parked": await box.read_model.parked()}


@router.post("/parked/{key}/release", summary="Judge the parked records again, in log order, and unpark")
async def release_parked(key: Key, http: Request, box: ContainerDep, principal: Admin) -> Response:
    return answer(await box.release(key, principal.id), http.url.path)
