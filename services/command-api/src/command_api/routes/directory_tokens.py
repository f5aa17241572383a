"""Personal API token routes: POST/GET /v1/users/{id}/tokens, DELETE /v1/users/{id}/tokens/{token_id}.

A token is shown once, in the answer that issued it; the log and every later answer hold only its hash's id,
role and label (docs/decisions/0069).
"""

from typing import Any

from fastapi import APIRouter, Response
from fastapi import Request as HttpRequest
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from command_api.deps import CorrelationId, IdempotencyKey
from command_api.directory_service import DirectoryRequest, TokenAsk
from command_api.problems import Problem
from command_api.routes.directory_http import (
    ANSWERS,
    DELETED,
    READ_ANSWERS,
    Caller,
    DirectoryDep,
    answer_change,
    build,
    deleted,
    stored,
)
from incidents_shared.directory_log.judge import DirectoryVerdict
from incidents_shared.domain import directory as d
from incidents_shared.domain.directory.model import Name
from incidents_shared.domain.directory.permissions import may_see_tokens
from incidents_shared.domain.enums import Role
from incidents_shared.domain.text import StorableModel

router = APIRouter(prefix="/v1", tags=["directory"])


class TokenRequest(StorableModel):
    """`role`: at most the user's (default: the user's, or the calling token's if that is narrower)."""

    role: Role | None = None
    label: Name | None = None


class TokenInfo(BaseModel):
    """A personal token as listed: never the token itself."""

    id: str
    user: str
    role: Role
    label: str | None


class TokenShown(TokenInfo):
    """A personal token as issued; `token` is the secret, shown once, in the answer that issued it (never again)."""

    token: str | None = None


class TokenList(BaseModel):
    tokens: list[TokenInfo]


def _token_json(token: d.Token, secret: str | None = None) -> dict[str, Any]:
    shown = {"id": token.id, "user": token.user, "role": token.role.value, "label": token.label}
    return shown | ({"token": secret} if secret is not None else {})


@router.post(
    "/users/{user_id}/tokens",
    status_code=201,
    responses={201: {"model": TokenShown}, **ANSWERS},
    summary="Issue a personal API token (shown once)",
)
async def issue_token(
    user_id: str,
    body: TokenRequest,
    http: HttpRequest,
    directory: DirectoryDep,
    correlation: CorrelationId,
    principal: Caller,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    ask = TokenAsk(principal, user_id, body.role, body.label, correlation, idempotency_key)
    outcome, secret = await directory.issue_token(ask)

    def shown(verdict: DirectoryVerdict, ours: bool) -> Response:
        token = stored(verdict, d.Token)
        headers = {"Location": f"/v1/users/{token.user}/tokens/{token.id}"}
        return JSONResponse(_token_json(token, secret if ours else None), 201, headers)

    return answer_change(outcome, http.url.path, shown)


@router.get(
    "/users/{user_id}/tokens",
    response_model=TokenList,
    responses=READ_ANSWERS,
    summary="A user's personal tokens: ids, roles, labels (never the tokens)",
)
async def list_tokens(user_id: str, directory: DirectoryDep, principal: Caller) -> dict[str, Any]:
    if not may_see_tokens(principal.id, principal.role, user_id):
        raise Problem(403, "forbidden", "Your role may not do this", "a user's tokens are shown to them and to admins")
    state = directory.directory.state
    if user_id not in state.users:
        raise Problem(404, "not-found", "No such user", f"no user {user_id!r}")
    tokens = sorted((t for t in state.tokens.values() if t.user == user_id), key=lambda t: t.id)
    return {"tokens": [_token_json(token) for token in tokens]}


@router.delete(
    "/users/{user_id}/tokens/{token_id}",
    status_code=204,
    responses={**DELETED, **ANSWERS},
    summary="Revoke a personal token",
)
async def revoke_token(
    user_id: str,
    token_id: str,
    http: HttpRequest,
    directory: DirectoryDep,
    correlation: CorrelationId,
    principal: Caller,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    command = build(lambda ids: d.RevokeToken(user=ids[0], token_id=ids[1]), (user_id, token_id))
    req = DirectoryRequest(principal, command, correlation, None, idempotency_key)
    return answer_change(await directory.execute(req), http.url.path, deleted)
