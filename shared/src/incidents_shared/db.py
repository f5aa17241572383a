"""PostgreSQL plumbing: pools and versioned migrations applied in order, recorded, safe to run twice."""

import asyncio
import json
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any, TypeAlias

import asyncpg
import structlog
from asyncpg.pool import PoolConnectionProxy

from incidents_shared.names import MIGRATION_LOCK
from incidents_shared.settings import CommonSettings

log = structlog.get_logger(__name__)

# The database is down: unreachable, restarting, or it dropped the connection. Nothing was wrong with the work;
# retry it later (an API answers 503 with Retry-After).
DATABASE_DOWN = (
    OSError,  # refused, reset, timed out (TimeoutError and ConnectionError are OSErrors)
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,  # the connection closed under a query
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting up, backend terminated
    # Too busy to answer in time: a statement past statement_timeout (a pool's wait for a free connection past
    # its acquire timeout raises TimeoutError, above). Retried later like the rest (docs/decisions/0091).
    asyncpg.exceptions.QueryCanceledError,
)
# What a worker retries after a pause: the database down, or a statement that failed in it (a deadlock, a
# serialization failure, a statement planned against tables a rebuild swapped away).
DATABASE_ERRORS = (*DATABASE_DOWN, asyncpg.PostgresError)

Pool: TypeAlias = "asyncpg.Pool[asyncpg.Record]"
Conn: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"


class JsonText(str):
    """JSON already serialised (canonical event bytes, say): stored in a jsonb column as is, not re-encoded."""


_JSONB_VERSION = b"\x01"  # jsonb's binary wire format: a version byte, then the JSON text


def _encode_jsonb(value: Any) -> bytes:
    text = value if isinstance(value, JsonText) else json.dumps(value)
    return _JSONB_VERSION + text.encode()


def _decode_jsonb(data: bytes) -> Any:
    return json.loads(data[1:])


async def init_connection(conn: asyncpg.Connection) -> None:
    # Binary, so that COPY (copy_records_to_table, binary only) can write jsonb columns too.
    await conn.set_type_codec(
        "jsonb", encoder=_encode_jsonb, decoder=_decode_jsonb, schema="pg_catalog", format="binary"
    )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Reset on release without asyncpg's default RESET ALL/UNLISTEN query (a round trip per release):
    no code here changes session state on pooled connections; only a transaction left open is undone."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


COMMAND_TIMEOUT_MARGIN_S = 2.0


class TimedPool(asyncpg.Pool):
    """A pool whose every acquire (its own fetch/execute helpers' too) waits at most `acquire_timeout` seconds
    for a free connection, then raises TimeoutError."""

    def __init__(self, *args: Any, acquire_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._acquire_timeout = acquire_timeout

    def acquire(self, *, timeout: float | None = None) -> Any:
        return super().acquire(timeout=self._acquire_timeout if timeout is None else timeout)


def server_settings(settings: CommonSettings, given: dict[str, str] | None = None) -> dict[str, str]:
    """The session settings of every pooled connection: the statement timeout, then what the caller gave."""
    return {"statement_timeout": str(round(settings.db_statement_timeout_s * 1000)), **(given or {})}


async def create_pool(settings: CommonSettings, **options: Any) -> "asyncpg.Pool[asyncpg.Record]":
    """A pool whose jsonb columns read and write Python objects, with the settings' statement and acquire
    timeouts."""
    deadline = asyncio.get_running_loop().time() + settings.startup_timeout_s
    session = server_settings(settings, options.pop("server_settings", None))
    # The client's own bound, a little past the server's: a server that does not answer at all (paused, a
    # network partition) cannot enforce its statement_timeout, so without it a request would hang.
    if settings.db_statement_timeout_s > 0:
        options.setdefault("command_timeout", settings.db_statement_timeout_s + COMMAND_TIMEOUT_MARGIN_S)
    while True:
        try:
            pool: Pool = await TimedPool(
                settings.database_url,
                min_size=1,
                max_size=settings.db_pool_max,
                max_queries=50_000,
                max_inactive_connection_lifetime=300.0,
                setup=None,
                init=init_connection,
                reset=_keep_session,
                loop=None,
                connection_class=asyncpg.Connection,
                record_class=asyncpg.Record,
                acquire_timeout=settings.db_acquire_timeout_s,
                server_settings=session,
                **options,
            )
            return pool
        except DATABASE_ERRORS as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise ConnectionError(f"PostgreSQL unreachable: {exc!r}") from exc
            log.warning("postgres_not_ready", error=repr(exc))
            await asyncio.sleep(1.0)


def renew_after_swap(pool: Pool) -> Callable[[str | None], Awaitable[None]]:
    """A listener callback for SWAP_CHANNEL: once a rebuild swapped the tables (or after a reconnect, which may
    have missed the notification), the pool renews its connections, whose prepared statements name old tables."""

    async def renew(retired: str | None) -> None:
        if retired is not None:
            log.info("read_model_swapped", retired=retired)
        await pool.expire_connections()

    return renew


def migration_files() -> list[tuple[str, str]]:
    """(version, sql) of every packaged migration, in order."""
    folder = resources.files("incidents_shared") / "migrations"
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    return [(f.name.removesuffix(".sql"), f.read_text()) for f in files]


async def migrate(conn: Conn) -> list[str]:
    """Apply the migrations not yet recorded, each in its own transaction. Returns the versions applied."""
    # Migrations and the wait for another process's run may take longer than a pool's statement timeout.
    await conn.execute("SET statement_timeout = 0")
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        applied = []
        for version, sql in migration_files():
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
            log.info("migration_applied", version=version)
            applied.append(version)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
        await conn.execute("RESET statement_timeout")  # back to the connection's own (its server_settings)
