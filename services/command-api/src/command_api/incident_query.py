"""Listing incidents: filters, full-text search, sorts and an opaque keyset cursor, as one SQL statement.

Pure: `IncidentQuery.sql()` gives the statement and its arguments; the read model runs it. Every sort is
(sort key, incident_id) in one direction, so a row comparison against the cursor walks a composite index
(see migration 0006 and docs/decisions/0020).
"""

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID


class Sort(StrEnum):
    LOGGED_DESC = "-logged_at"
    LOGGED = "logged_at"
    UPDATED_DESC = "-updated_at"
    UPDATED = "updated_at"
    PRIORITY = "priority"  # P1 first, oldest first within a priority: the triage order
    PRIORITY_DESC = "-priority"

    @property
    def column(self) -> str:
        return self.value.removeprefix("-")

    @property
    def descending(self) -> bool:
        return self.value.startswith("-")

    @property
    def key_sql(self) -> tuple[str, ...]:
        if self.column == "priority":
            return ("coalesce(priority, 'P9')", "logged_at", "incident_id")
        return (self.column, "incident_id")


class BadCursor(ValueError):
    """The cursor is not one this API gave out for this sort."""


@dataclass(frozen=True)
class Cursor:
    sort: Sort
    key: tuple[Any, ...]  # the sort key of the last row, without the incident id
    incident_id: UUID

    def encode(self) -> str:
        key = [v.isoformat() if isinstance(v, datetime) else v for v in self.key]
        raw = json.dumps({"s": self.sort.value, "k": key, "id": str(self.incident_id)}, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, sort: Sort) -> "Cursor":
        try:
            raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            if raw["s"] != sort.value:
                raise BadCursor(f"the cursor belongs to sort {raw['s']}, not {sort.value}")
            key = tuple(raw["k"])
            if len(key) != len(sort.key_sql) - 1:
                raise BadCursor("the cursor's key does not fit the sort")
            parsed = tuple(
                datetime.fromisoformat(v) if c.endswith("_at") else str(v)
                for v, c in zip(key, sort.key_sql, strict=False)
            )
            if any(isinstance(v, datetime) and v.tzinfo is None for v in parsed):
                raise BadCursor("the cursor's time has no offset")
            return cls(sort, parsed, UUID(raw["id"]))
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise BadCursor(str(exc)) from exc

    @classmethod
    def after(cls, sort: Sort, row: dict[str, Any]) -> "Cursor":
        if sort.column == "priority":
            return cls(sort, (row["priority"] or "P9", row["logged_at"]), row["incident_id"])
        return cls(sort, (row[sort.column],), row["incident_id"])


@dataclass(frozen=True)
class IncidentQuery:
    equals: dict[str, Any] = field(default_factory=dict)  # column -> value (status, priority, team, ...)
    statuses: tuple[str, ...] = ()  # any of these statuses (the console's open queue); empty: no condition
    q: str | None = None
    labels: tuple[tuple[str, str], ...] = ()  # (name, value): each on the incident or one of its alerts
    breached: bool | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    sort: Sort = Sort.LOGGED_DESC
    after: Cursor | None = None
    limit: int = 50

    def sql(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []

        def arg(value: Any) -> str:
            args.append(value)
            return f"${len(args)}"

        for column, value in self.equals.items():
            clauses.append(f"{column} = {arg(value)}")
        if self.statuses:
            clauses.append(f"status = ANY({arg(list(self.statuses))}::text[])")
        if self.q:
            # Title and description on the incident's row, each note on its own row (decision 0054).
            query = f"websearch_to_tsquery('english', {arg(self.q)})"
            clauses.append(
                f"(search @@ {query} OR incident_id IN"
                f" (SELECT n.incident_id FROM incident_notes n WHERE n.search @@ {query}))"
            )
        for name, value in self.labels:  # incident_labels' key is a hash of the pair (migration 0013)
            n, v = arg(name), arg(value)
            clauses.append(
                "incident_id IN (SELECT l.incident_id FROM incident_labels l WHERE"
                f" l.pair = md5(length({n})::text || ':' || {n} || {v})::uuid AND l.name = {n} AND l.value = {v})"
            )
        if self.breached is not None:
            clauses.append(f"breached = {arg(self.breached)}")
        if self.created_from is not None:
            clauses.append(f"logged_at >= {arg(self.created_from)}")
        if self.created_to is not None:
            clauses.append(f"logged_at < {arg(self.created_to)}")
        keys = self.sort.key_sql
        if self.after is not None:
            bound = ", ".join(arg(v) for v in (*self.after.key, self.after.incident_id))
            clauses.append(f"({', '.join(keys)}) {'<' if self.sort.descending else '>'} ({bound})")
        where = f"WHERE {' AND '.join(clauses)} " if clauses else ""
        direction = " DESC" if self.sort.descending else ""
        order = ", ".join(k + direction for k in keys)
        columns = "incident_id, priority, logged_at, updated_at, state"
        return f"SELECT {columns} FROM incidents {where}ORDER BY {order} LIMIT {arg(self.limit)}", args
