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


async def create_pool(settings: CommonSettings, **options: Any) -> "asyncpg.Pool[asyncpg.Record]":
    """A pool whose jsonb columns read and write Python objects."""
    deadline = asyncio.get_running_loop().time() + settings.startup_timeout_s
    while True:
        try:
            pool = await asyncpg.create_pool(
                settings.database_url,
                min_size=1,
                max_size=settings.db_pool_max,
                init=init_connection,
                reset=_keep_session,
                **options,
            )
            assert pool is not None
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
