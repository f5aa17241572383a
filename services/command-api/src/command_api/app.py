"""The FastAPI application and its lifespan: the composition root of the command API."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from command_api.alerts_config import load_mapping
from command_api.alerts_service import AlertService
from command_api.auth import TokenRegistry
from command_api.deps import Container
from command_api.idempotency import IdempotencyStore
from command_api.middleware import BodyLimit, RequestContext
from command_api.problems import Problem, install_problem_handlers, problem_response
from command_api.ratelimit import RateLimiter
from command_api.readmodel import ReadModel
from command_api.routes import alerts, commands, queries
from command_api.service import CommandService
from command_api.settings import ApiSettings
from command_api.verdicts import VerdictWaiter
from incidents_shared.appender import KafkaAppender, LogUnavailable
from incidents_shared.db import create_pool, migrate
from incidents_shared.domain.taxonomy import DEFAULT_TAXONOMY
from incidents_shared.ops import add_ops_routes, kafka_probe, postgres_probe

DESCRIPTION = """Commands become events on the incident log (Kafka); the projector judges each one and the
answer is its verdict. Authenticate with `Authorization: Bearer <token>`. Errors are RFC 9457 problem details."""


def create_app(settings: ApiSettings) -> FastAPI:
    tokens = TokenRegistry.load(settings.tokens_file, settings.token_hashes)
    mapping = load_mapping(settings.alert_mapping_file)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings)
        async with pool.acquire() as conn:
            await migrate(conn)
        read_model = ReadModel(pool)
        appender = KafkaAppender(settings, settings.append_timeout_s)
        waiter = VerdictWaiter(settings.database_url, read_model)
        await appender.start()
        await waiter.start()
        service = CommandService(
            read_model,
            appender,
            waiter,
            IdempotencyStore(pool),
            DEFAULT_TAXONOMY,
            settings.verdict_timeout_s,
            settings.retry_after_s,
        )
        limiter = RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst)
        app.state.container = Container(tokens, limiter, read_model, service)
        app.state.alerts = AlertService(
            read_model, appender, waiter, mapping, DEFAULT_TAXONOMY, settings.verdict_timeout_s
        )
        app.state.probes = {"kafka": kafka_probe(settings.kafka_bootstrap), "postgres": postgres_probe(pool)}
        try:
            yield
        finally:
            await waiter.stop()
            await appender.stop()
            await pool.close()

    app = FastAPI(title="Incident platform command API", version="1.0", description=DESCRIPTION, lifespan=lifespan)
    install_problem_handlers(app)

    @app.exception_handler(LogUnavailable)
    async def _log_unavailable(request: Request, exc: LogUnavailable) -> JSONResponse:
        problem = Problem(
            503,
            "log-unavailable",
            "The incident log is unavailable",
            str(exc),
            headers={"Retry-After": str(settings.retry_after_s)},
        )
        return problem_response(problem, request.url.path)

    app.include_router(commands.router)
    app.include_router(queries.router)
    app.include_router(alerts.router)
    add_ops_routes(app, lambda: app.state.probes)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContext)
    return app
