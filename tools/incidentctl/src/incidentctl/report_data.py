"""The report's figures, read from PostgreSQL's read models with the API's own statements (docs/REPORTS.md)."""

from dataclasses import dataclass, field
from typing import Any

from incidents_shared.db import Conn, create_pool
from incidents_shared.report_query import (
    GroupBy,
    RecurBy,
    Window,
    recurring_row,
    recurring_sql,
    summary_row,
    summary_sql,
    weekly_row,
    weekly_sql,
)
from incidents_shared.settings import CommonSettings

RECURRING_MIN = 2
RECURRING_LIMIT = 10


@dataclass
class ReportData:
    """Everything the HTML page shows, as the API would answer it."""

    window: Window
    headline: dict[str, Any] | None
    weekly: list[dict[str, Any]] = field(default_factory=list)
    by_priority: list[dict[str, Any]] = field(default_factory=list)
    by_category: list[dict[str, Any]] = field(default_factory=list)
    recurring: list[dict[str, Any]] = field(default_factory=list)


async def _summary(conn: Conn, window: Window, group_by: GroupBy | None) -> list[dict[str, Any]]:
    rows = await conn.fetch(summary_sql(window, group_by), *window.args())
    return [summary_row(dict(r)) for r in rows]


async def _recurring(conn: Conn, window: Window) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for by in RecurBy:
        rows = await conn.fetch(recurring_sql(window, by), *window.args(), RECURRING_MIN, RECURRING_LIMIT)
        found.extend({"by": by.value, **recurring_row(dict(r))} for r in rows)
    found.sort(key=lambda g: (-g["occurrences"], g["last_seen"]))
    return found[:RECURRING_LIMIT]


async def load_report(settings: CommonSettings, window: Window) -> ReportData:
    """One REPEATABLE READ snapshot, so every section counts the same incidents."""
    pool = await create_pool(settings)
    try:
        async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            everything = await _summary(conn, window, None)
            weekly = [weekly_row(dict(r)) for r in await conn.fetch(weekly_sql(window), *window.args())]
            return ReportData(
                window=window,
                headline=everything[0] if everything else None,
                weekly=weekly,
                by_priority=await _summary(conn, window, GroupBy.PRIORITY),
                by_category=await _summary(conn, window, GroupBy.CATEGORY),
                recurring=await _recurring(conn, window),
            )
    finally:
        await pool.close()
