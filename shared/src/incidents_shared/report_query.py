"""Report statements over the incidents read model, shared by the API and `incidentctl report`; see docs/REPORTS.md.

Every figure comes from columns the projector derives from event times (detected_at, logged_at,
acknowledged_at, resolved_at, breached), so a rebuild recomputes all history under a changed definition.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from incidents_shared.domain.enums import Status


class GroupBy(StrEnum):
    PRIORITY = "priority"
    CATEGORY = "category"
    TEAM = "team"
    SERVICE = "service"


class RecurBy(StrEnum):
    SERVICE_CATEGORY = "service_category"
    DEDUP_KEY = "dedup_key"


NONE_GROUP = "(none)"
_MTTA = "extract(epoch FROM acknowledged_at - logged_at)"
_MTTR = "extract(epoch FROM resolved_at - detected_at)"


def _stats(name: str, seconds: str) -> str:
    return (
        f"avg({seconds}) AS {name}_mean, "
        f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {seconds}) AS {name}_p50, "
        f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {seconds}) AS {name}_p90, "
        f"count({seconds}) AS {name}_n"
    )


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    include_drills: bool = False

    def where(self) -> str:
        return "logged_at >= $1 AND logged_at < $2 AND ($3 OR source <> 'drill')"

    def args(self) -> list[Any]:
        return [self.start, self.end, self.include_drills]


def summary_sql(window: Window, group_by: GroupBy | None) -> str:
    group = f"coalesce({group_by.value}, '{NONE_GROUP}')" if group_by else "'all'"
    statuses = ", ".join(f"count(*) FILTER (WHERE status = '{s.value}') AS status_{s.value}" for s in Status)
    return (
        f"SELECT {group} AS grp, count(*) AS total, {statuses}, {_stats('mtta', _MTTA)}, {_stats('mttr', _MTTR)}, "
        "count(*) FILTER (WHERE breached) AS breaches, "
        "count(*) FILTER (WHERE breached OR resolved_at IS NOT NULL) AS sla_decided "
        f"FROM incidents WHERE {window.where()} GROUP BY grp ORDER BY total DESC, grp"
    )


def summary_row(row: dict[str, Any]) -> dict[str, Any]:
    decided, breaches = row["sla_decided"], row["breaches"]
    return {
        "group": row["grp"],
        "total": row["total"],
        "by_status": {s.value: row[f"status_{s.value}"] for s in Status},
        "mtta_seconds": _figures(row, "mtta"),
        "mttr_seconds": _figures(row, "mttr"),
        "breaches": breaches,
        "sla_compliance_pct": round(100.0 * (decided - breaches) / decided, 2) if decided else None,
    }


def _figures(row: dict[str, Any], name: str) -> dict[str, Any]:
    def num(value: Any) -> float | None:
        return round(float(value), 3) if value is not None else None

    return {
        "count": row[f"{name}_n"],
        "mean": num(row[f"{name}_mean"]),
        "p50": num(row[f"{name}_p50"]),
        "p90": num(row[f"{name}_p90"]),
    }


def recurring_sql(window: Window, by: RecurBy) -> str:
    """Groups with at least $4 incidents in the window, most frequent first; $5 limits the groups."""
    if by is RecurBy.DEDUP_KEY:
        keys, extra = "dedup_key", "AND dedup_key IS NOT NULL"
    else:
        keys, extra = f"service, coalesce(category, '{NONE_GROUP}') AS category", ""
    group = "dedup_key" if by is RecurBy.DEDUP_KEY else "service, 2"
    return (
        f"SELECT {keys}, count(*) AS occurrences, min(logged_at) AS first_seen, max(logged_at) AS last_seen, "
        "(array_agg(incident_id ORDER BY logged_at DESC))[1:20] AS latest_incident_ids "
        f"FROM incidents WHERE {window.where()} {extra} GROUP BY {group} HAVING count(*) >= $4 "
        "ORDER BY occurrences DESC, last_seen DESC LIMIT $5"
    )


def recurring_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **{k: row[k] for k in ("service", "category", "dedup_key") if k in row},
        "occurrences": row["occurrences"],
        "first_seen": row["first_seen"].isoformat(),
        "last_seen": row["last_seen"].isoformat(),
        "latest_incident_ids": [str(i) for i in row["latest_incident_ids"]],
    }


def weekly_sql(window: Window) -> str:
    """MTTA and MTTR per ISO week (Monday 00:00 UTC) of `logged_at`, with the same definitions as the summary."""
    return (
        "SELECT (date_trunc('week', logged_at AT TIME ZONE 'UTC'))::date AS week, count(*) AS total, "
        f"{_stats('mtta', _MTTA)}, {_stats('mttr', _MTTR)} "
        f"FROM incidents WHERE {window.where()} GROUP BY week ORDER BY week"
    )


def weekly_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "week": row["week"].isoformat(),
        "total": row["total"],
        "mtta_seconds": _figures(row, "mtta"),
        "mttr_seconds": _figures(row, "mttr"),
    }
