"""FastAPI dependencies: the container, the authenticated principal, request metadata."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Header, Request

from command_api.alerts_service import AlertService
from command_api.auth import Principal, TokenRegistry
from command_api.directory_service import DirectoryService
from command_api.heartbeat_service import HeartbeatService
from command_api.login_limits import LoginLimits, client_address, too_many_failures, unshared_limits
from command_api.maintenance_hold import HeldLister
from command_api.page_link_service import PageLinkService
from command_api.params import ascii_int
from command_api.problems import Problem
from command_api.ratelimit import RateLimiter, retry_after_header
from command_api.readmodel import ReadModel
from command_api.release import ReleaseParked
from command_api.service import CommandService
from incidents_shared.domain.enums import Role


@dataclass
class Container:
    """Everything the routes need, built once by the app's lifespan."""

    tokens: TokenRegistry
    limiter: RateLimiter
    read_model: ReadModel
    commands: CommandService
    alerts: AlertService
    release: ReleaseParked
    page_links: PageLinkService | None = None  # GET/POST /v1/page-links/{token}; None: those answer 404
    directory: DirectoryService | None = None  # /v1/users, /v1/teams, ...; None: those answer 503
    held_alerts: HeldLister | None = None  # what maintenance windows held (docs/decisions/0076)
    heartbeats: HeartbeatService | None = None  # /v1/heartbeats (docs/decisions/0076)
    login_limits: LoginLimits = field(default_factory=unshared_limits)  # failed logins (docs/decisions/0089)


async def container(request: Request) -> Container:
    built: Container = request.app.state.container
    return built


ContainerDep = Annotated[Container, Depends(container)]


def _unauthorized(detail: str) -> Problem:
    return Problem(
        401, "unauthorized", "Authentication required", detail, headers={"WWW-Authenticate": 'Bearer realm="incidents"'}
    )


def require(roles: frozenset[Role]) -> Callable[..., Awaitable[Principal]]:
    """A dependency that authenticates the bearer token and checks the role."""

    async def authenticate(
        request: Request,
        box: ContainerDep,
        authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    ) -> Principal:
        address = client_address(request)
        if (refused_s := box.login_limits.refused(address)) > 0:  # before the token is even looked at
            raise too_many_failures(refused_s)
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized("send Authorization: Bearer <token>")
        principal = box.tokens.authenticate(token.strip())
        if principal is None and box.directory is not None and not box.directory.directory.is_ready:
            # A personal token cannot be told from a wrong one before the directory is read: not 401, retry soon.
            raise Problem(503, "directory-unavailable", "The directory is not loaded", headers={"Retry-After": "5"})
        if principal is None:
            if (refused_s := await box.login_limits.failed(address)) > 0:
                raise too_many_failures(refused_s)
            raise _unauthorized("unknown token")
        if (wait_s := box.limiter.take(principal.id)) > 0:
            raise Problem(
                429,
                "rate-limited",
                "Too many requests",
                f"limit per principal: {box.limiter.rate}/s",
                headers={"Retry-After": retry_after_header(wait_s)},
            )
        if principal.role not in roles:
            raise Problem(
                403,
                "forbidden",
                "Your role may not do this",
                f"role {principal.role.value} may not call this endpoint",
                rule="role",  # the authorization table's rule (docs/decisions/0090)
            )
        return principal

    return authenticate


async def correlation_id(request: Request) -> str:
    value: str = request.state.correlation_id
    return value


CorrelationId = Annotated[str, Depends(correlation_id)]


def parse_if_match(value: str | None) -> int | None:
    if value is None:
        return None
    version = ascii_int(value.strip().removeprefix("W/").strip('"'))
    if version is None:
        raise Problem(400, "bad-if-match", 'If-Match must be an ETag this API gave out, e.g. "3"')
    return version


IfMatch = Annotated[str | None, Header(alias="If-Match")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]
Prefer = Annotated[str | None, Header(alias="Prefer")]
