"""The policy simulation report: people's history replayed under two policies, tallied per priority. Pure."""

import json
from dataclasses import dataclass, field
from datetime import datetime
from statistics import mean, median
from typing import Any
from uuid import UUID

from incidents_shared.domain.escalation.book import PolicyBook
from incidents_shared.domain.escalation.policy import Policy
from incidents_shared.domain.escalation.simulation import IncidentOutcome, simulate_incident
from incidents_shared.domain.events import EventBase
from incidents_shared.domain.timeutil import format_utc

SIDES = ("current", "candidate")
METRICS = ("incidents", "pages", "escalations", "ack_breaches", "resolve_breaches", "unacknowledged")


@dataclass
class Tally:
    """One policy's totals over a set of incidents."""

    incidents: int = 0
    pages: int = 0
    escalations: int = 0
    ack_breaches: int = 0
    resolve_breaches: int = 0
    unacknowledged: int = 0
    times: list[float] = field(default_factory=list)

    def add(self, outcome: IncidentOutcome) -> None:
        self.incidents += 1
        self.pages += outcome.pages
        self.escalations += outcome.escalations
        self.ack_breaches += outcome.ack_breaches
        self.resolve_breaches += outcome.resolve_breaches
        if outcome.time_to_responder_s is None:
            self.unacknowledged += 1
        else:
            self.times.append(outcome.time_to_responder_s)

    def as_dict(self) -> dict[str, Any]:
        ttr = sorted(self.times)
        return {
            **{name: getattr(self, name) for name in METRICS},
            "time_to_responder_s": {
                "count": len(ttr),
                "mean": round(mean(ttr), 3) if ttr else None,
                "median": round(median(ttr), 3) if ttr else None,
                "max": round(ttr[-1], 3) if ttr else None,
            },
        }


def window(
    histories: dict[UUID, list[EventBase]], since: datetime | None, until: datetime | None
) -> tuple[dict[UUID, list[EventBase]], datetime | None]:
    """The incidents logged in [since, until] and the end of the simulation (default: the last event's time)."""
    end = until or max((ev.occurred_at for events in histories.values() for ev in events), default=None)
    if end is None:
        return {}, None
    chosen = {
        incident: events
        for incident, events in histories.items()
        if events and (since is None or events[0].occurred_at >= since) and events[0].occurred_at <= end
    }
    return chosen, end


def simulate(
    histories: dict[UUID, list[EventBase]],
    policies: dict[str, Policy],
    since: datetime | None,
    until: datetime | None,
) -> dict[str, Any]:
    """Replay every chosen incident under each policy ("current", "candidate"); the report as plain data."""
    chosen, end = window(histories, since, until)
    tallies: dict[str, dict[str, Tally]] = {}
    totals = {side: Tally() for side in SIDES}
    for incident in sorted(chosen, key=lambda i: (chosen[i][0].occurred_at, str(i))):
        for side in SIDES:
            assert end is not None
            outcome = simulate_incident(chosen[incident], PolicyBook(policies[side]), end)
            if outcome is None:
                continue
            tallies.setdefault(outcome.priority, {s: Tally() for s in SIDES})[side].add(outcome)
            totals[side].add(outcome)
    return {
        "since": format_utc(since) if since else None,
        "until": format_utc(end) if end else None,
        "policies": {side: {"id": policies[side].id, "version": policies[side].version} for side in SIDES},
        "priorities": {
            priority: {side: tallies[priority][side].as_dict() for side in SIDES} for priority in sorted(tallies)
        },
        "total": {side: totals[side].as_dict() for side in SIDES},
    }


def render_json(report: dict[str, Any]) -> str:
    return json.dumps(report, sort_keys=True, indent=2) + "\n"


def render_text(report: dict[str, Any]) -> str:
    pol = report["policies"]
    lines = [
        f"current   {pol['current']['id']} v{pol['current']['version']}",
        f"candidate {pol['candidate']['id']} v{pol['candidate']['version']}",
        f"incidents logged from {report['since'] or 'the start of the log'}, simulated up to {report['until']}",
        "",
        f"{'priority':<9} {'metric':<27} {'current':>10} {'candidate':>10} {'change':>10}",
    ]
    groups = [*report["priorities"].items(), ("total", report["total"])]
    for priority, sides in groups:
        lines.extend(_rows(priority, sides["current"], sides["candidate"]))
    return "\n".join(lines) + "\n"


def _rows(priority: str, current: dict[str, Any], candidate: dict[str, Any]) -> list[str]:
    rows = [(name, current[name], candidate[name]) for name in METRICS]
    for stat in ("median", "mean", "max"):
        rows.append((f"time to responder {stat} s", current["time_to_responder_s"][stat],
                     candidate["time_to_responder_s"][stat]))  # fmt: skip
    return [f"{priority:<9} {name:<27} {_cell(a):>10} {_cell(b):>10} {_change(a, b):>10}" for name, a, b in rows]


def _cell(value: float | None) -> str:
    return "-" if value is None else str(value)


def _change(a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return ""
    return f"{round(b - a, 3):+}"
