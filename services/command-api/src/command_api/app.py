"""The FastAPI application and its lifespan: the composition root of the command API."""

import contextlib
import functools
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from command_api.alerts_config import load_mapping
from command_api.alerts_service import AlertService
from command_api.auth import TokenRegistry
from command_api.console.install import console_config, install_console
from command_api.deps import Container
from command_api.directory_service import DirectoryService
from command_api.heartbeat_service import HeartbeatService
from command_api.heartbeat_store import PgHeartbeats
from command_api.heartbeat_watch import HeartbeatWatch
from command_api.idempotency import IdempotencyStore
from command_api.login_limits import LoginLimits, PgFailures
from command_api.maintenance_hold import MaintenanceHold
from command_api.maintenance_release import MaintenanceRelease
from command_api.maintenance_store import PgHeldAlerts
from command_api.middleware import BodyLimit, CleanUrl, RequestContext
from command_api.page_link_service import PageLinkService, directory_roles
from command_api.ports import AfterAppend
from command_api.problems import (
    Problem,
    install_problem_handlers,
    log_unavailable_detail,
    problem_response,
    problem_responses,
)
from command_api.ratelimit import RateLimiter
from command_api.readiness import KafkaCheck, Readiness, postgres_check
from command_api.readmodel import ReadModel
from command_api.release import ReleaseParked
from command_api.routes import (
    alerts,
    commands,
    directory_tokens,
    heartbeats,
    maintenance,
    operations,
    page_links,
    queries,
    reports,
    schedules,
    status,
    stream,
)
from command_api.routes import directory as directory_routes
from command_api.routes import slack as slack_routes
from command_api.service import CommandService, no_hook
from command_api.settings import ApiSettings
from command_api.slack.wiring import slack_service
from command_api.status_service import status_page
from command_api.stream_limits import StreamLimits
from command_api.stream_query import LiveStream
from command_api.system_events import SystemWriter
from command_api.verdicts import VerdictWaiter
from incidents_shared.appender import KafkaAppender, LogUnavailable
from incidents_shared.db import DATABASE_DOWN, create_pool, migrate, renew_after_swap
from incidents_shared.directory_log import DirectoryAppender, DirectoryLog
from incidents_shared.domain.events import EventBase
from incidents_shared.domain.taxonomy import DEFAULT_TAXONOMY
from incidents_shared.gc_tuning import freeze_startup
from incidents_shared.listen import CONNECT_TIMEOUT_S, Listener
from incidents_shared.names import STREAM_CHANNEL, SWAP_CHANNEL, VERDICT_CHANNEL
from incidents_shared.ops import NO_OTEL, add_ops_routes
from incidents_shared.page_links import signer_from
from incidents_shared.supervise import Worker, background, wait_any

log = structlog.get_logger(__name__)
DIRECTORY_READY_S = 10.0  # how long start-up waits for the directory's log before serving without it
ExceptionHandler = Callable[[Request, Exception], Awaitable[JSONResponse]]

DESCRIPTION = """Commands become events on the incident log (Kafka); the projector judges each one and the
answer is its verdict. Authenticate with `Authorization: Bearer <token>`. Errors are RFC 9457 problem details."""


def crash_after_append(events: list[EventBase]) -> None:
    """Fault injection (INCIDENTS_FAULT_CRASH_AFTER_APPEND): die like kill -9 once the log has acknowledged."""
    log.warning("fault_injected_crash_after_append", events=[str(e.event_id) for e in events])
    os._exit(137)


def after_append_hook(settings: ApiSettings) -> AfterAppend:
    return crash_after_append if settings.fault_crash_after_append else no_hook


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
        waiter = VerdictWaiter(read_model)
        await appender.start()
        app.state.live_stream = live = LiveStream(pool)
        app.state.stream_limits = StreamLimits(
            settings.stream_max_per_instance, settings.stream_max_per_principal, settings.retry_after_s
        )
        channels = {
            STREAM_CHANNEL: live.notified,
            SWAP_CHANNEL: renew_after_swap(pool),
            VERDICT_CHANNEL: waiter.notified,
        }
        listener = Listener(settings.database_url, "command-api-listener", channels)
        commands = CommandService(
            read_model,
            appender,
            waiter,
            IdempotencyStore(pool),
            DEFAULT_TAXONOMY,
            settings.verdict_timeout_s,
            after_append=after_append_hook(settings),
            note_limits=settings.note_limits(),
        )
        directory = DirectoryLog(settings, "command-api-directory")
        held = PgHeldAlerts(pool)  # maintenance windows and heartbeats (docs/decisions/0076)
        hold = MaintenanceHold(lambda: directory.state.windows.values(), held, read_model, mapping, DEFAULT_TAXONOMY)
        alerts = AlertService(
            read_model, appender, waiter, mapping, DEFAULT_TAXONOMY, settings.verdict_timeout_s, hold=hold
        )
        writer = SystemWriter(read_model, appender, waiter, settings.verdict_timeout_s)
        beats = PgHeartbeats(pool)
        folded = functools.partial(directory.ready, settings.startup_timeout_s)
        release = MaintenanceRelease(
            lambda: directory.state.windows, held, alerts, writer, settings.watch_tick_s, folded
        )
        watch = HeartbeatWatch(lambda: directory.state, beats, beats, alerts, writer, settings.watch_tick_s, folded)
        limiter = RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst)
        directory_appender = DirectoryAppender(settings, settings.append_timeout_s)
        await directory_appender.start()
        changes = DirectoryService(directory, directory_appender, settings.verdict_timeout_s)
        links = PageLinkService(
            signer_from(settings), read_model, commands, role_of=directory_roles(lambda: directory.state)
        )
        app.state.container = Container(
            tokens.with_directory(lambda: directory.state),
            limiter,
            read_model,
            commands,
            alerts,
            ReleaseParked(read_model),
            page_links=links,
            directory=changes,
            held_alerts=held,
            heartbeats=HeartbeatService(lambda: directory.state.heartbeats, beats, read_model),
            login_limits=LoginLimits(settings.auth_failures_per_min, settings.auth_failure_window_s, PgFailures(pool)),
        )
        app.state.console = console_config(
            pool,
            lambda: directory.state,
            lambda: directory.is_ready,
            settings.console_session_ttl_s,
            settings.public_url,
        )
        app.state.status_page = status_page(settings, pool, lambda: directory.state.services)  # decision 0081
        app.state.slack = slack_service(settings, pool, commands, read_model, directory)  # decision 0080
        readiness = Readiness(  # /readyz answers its last check (decision 0092)
            {"kafka": KafkaCheck(settings.kafka_bootstrap), "postgres": postgres_check(pool)},
            settings.readiness_check_s,
        )
        app.state.probes = readiness.probes()
        freeze_startup()
        try:
            workers = [
                Worker("command-api-listener", listener.run, restart=True),
                Worker("command-api-directory", directory.run, restart=True),
                Worker("maintenance-release", release.run, restart=True),
                Worker("heartbeat-watch", watch.run, restart=True),
                Worker("readiness", readiness.run, restart=True),
            ]
            async with background(workers):
                await wait_any(CONNECT_TIMEOUT_S, listener.listening)  # the first verdicts are then notified too
                with contextlib.suppress(TimeoutError):  # Kafka down: serve anyway (503s); the directory routes
                    await directory.ready(DIRECTORY_READY_S)  # answer 503 until the whole directory is read
                yield
        finally:
            await directory_appender.stop()
            await appender.stop()
            await pool.close()

    app = FastAPI(
        title="Incident platform command API",
        version="1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # /docs is served from local assets (command_api.console.docs), not a CDN
        redoc_url=None,  # so is /redoc
        telemetry=NO_OTEL,  # /metrics is Prometheus; FastAPI's OpenTelemetry probe cost ~5% CPU per request
    )
    install_problem_handlers(app)

    def unavailable(slug: str, title: str, detail: Callable[[Exception], str]) -> ExceptionHandler:
        async def answer(request: Request, exc: Exception) -> JSONResponse:
            retry = {"Retry-After": str(settings.retry_after_s)}
            return problem_response(Problem(503, slug, title, detail(exc), headers=retry), request.url.path)

        return answer

    read_models_down = unavailable("database-unavailable", "The read models are unavailable", _type_name)
    for database_down in DATABASE_DOWN:
        app.add_exception_handler(database_down, read_models_down)
    log_down = unavailable("log-unavailable", "The incident log is unavailable", log_unavailable_detail)
    app.add_exception_handler(LogUnavailable, log_down)

    app.include_router(commands.router, responses=problem_responses())
    app.include_router(queries.router, responses=problem_responses())
    app.include_router(alerts.router, responses=problem_responses())
    app.include_router(reports.router, responses=problem_responses())
    app.include_router(stream.router, responses=problem_responses())
    app.include_router(operations.router, responses=problem_responses())
    app.include_router(schedules.router, responses=problem_responses())  # before /schedules/{id}: the .ics route
    app.include_router(directory_routes.router, responses=problem_responses())
    app.include_router(directory_tokens.router, responses=problem_responses())
    app.include_router(maintenance.router, responses=problem_responses())
    app.include_router(heartbeats.router, responses=problem_responses())
    app.include_router(page_links.router)  # its own answers: HTML or problems, and 410
    app.include_router(slack_routes.router)  # signed by Slack, its own answers (decision 0080)
    install_console(app)  # /console/ and /docs (docs/decisions/0083)
    app.include_router(status.router)  # public, no login: the status page (decision 0081)
    add_ops_routes(app, lambda: app.state.probes)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(CleanUrl)
    app.add_middleware(RequestContext)
    return app


def _type_name(exc: Exception) -> str:
    return type(exc).__name__
