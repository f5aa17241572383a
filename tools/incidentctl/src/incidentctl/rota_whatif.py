"""The rota what-if: people's history replayed under the current directory and a candidate one, per person and
per schedule. Pure (docs/decisions/0073-rota-what-if.md).

Each side is a policy and a directory. Every chosen incident is replayed through the escalator's own fold and
timers (`Simulator`) with that side's people, so whoever is on call when a step fires is paged, by each of their
contact methods in turn. Per person: pages (accepted `incident.paged`, one per contact method), pages at night in
the person's own time zone, distinct incidents. Per schedule: the gaps of the simulated span and the escalations
that reached nobody because the schedule they named had nobody on call.
"""

import io
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo

from rich import box
from rich.console import Console
from rich.table import Table

from incidentctl.directory_diff import check, diff
from incidentctl.directory_doc import Directory, Resource
from incidentctl.whatif import SIDES, Tally, window
from incidentctl.whatif import render_text as render_policy_text
from incidents_shared.domain import events as e
from incidents_shared.domain.directory import DirectoryMeta, DirectoryState, Kind, decide, evolve
from incidents_shared.domain.enums import ActorKind
from incidents_shared.domain.escalation.book import PolicyBook
from incidents_shared.domain.escalation.people import People
from incidents_shared.domain.escalation.policy import Policy
from incidents_shared.domain.escalation.simulation import Simulator, outcome
from incidents_shared.domain.oncall import gaps, oncall_at
from incidents_shared.domain.timeutil import format_utc

_NIGHT = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)")
_ACTOR = e.Actor(id="incidentctl-simulate", kind=ActorKind.SERVICE, role="admin")


@dataclass(frozen=True)
class Night:
    """Local wall-clock hours that count as night, [start, end); an end before the start crosses midnight."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> "Night":
        match = _NIGHT.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not HH:MM-HH:MM (e.g. 22:00-07:00)")
        h1, m1, h2, m2 = (int(part) for part in match.groups())
        if (h1, m1) == (h2, m2):
            raise ValueError(f"{text!r} is empty: start and end are the same time")
        return cls(time(h1, m1), time(h2, m2))

    def contains(self, at: datetime, zone: ZoneInfo) -> bool:
        local = at.astimezone(zone).time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class Side:
    """What one side of the comparison runs with."""

    policy: Policy
    directory: DirectoryState
    described: str  # which directory this is, for the report's header
    default_team: str = "service-desk"


class CandidateRefused(ValueError):
    """The candidate file is one `incidentctl directory apply` would refuse on this directory."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path, self.message = path, message


def candidate_directory(current: DirectoryState, file: Directory, prune: bool, now: datetime) -> DirectoryState:
    """The directory `incidentctl directory apply FILE [--prune]` would leave behind: the file's resources over
    the current ones (with `prune`, nothing else), run through the domain's own `decide` and `evolve`."""
    tables: dict[Kind, Mapping[str, Resource]] = {Kind.USER: current.users, Kind.TEAM: current.teams}
    have = Directory(tables | {Kind.SERVICE: current.services, Kind.SCHEDULE: current.schedules})
    plan = diff(have, file, prune)
    if (refusal := check(have, plan, now)) is not None:
        raise CandidateRefused(refusal.path, refusal.message)
    state = current
    for index, step in enumerate(plan.steps()):
        meta = DirectoryMeta(uuid5(NAMESPACE_URL, f"simulate:{index}"), _ACTOR, now, "simulate")
        for event in decide(state, step.command, meta):
            state = evolve(state, event)
    return state


@dataclass
class PersonTally:
    pages: int = 0
    night_pages: int = 0
    incidents: set[UUID] = field(default_factory=set)

    def as_dict(self, time_zone: str | None) -> dict[str, Any]:
        return {"pages": self.pages, "night_pages": self.night_pages, "incidents": len(self.incidents),
                "time_zone": time_zone}  # fmt: skip


@dataclass
class SideTally:
    """Everything one side adds up to."""

    total: Tally = field(default_factory=Tally)
    priorities: dict[str, Tally] = field(default_factory=dict)
    people: dict[str, PersonTally] = field(default_factory=dict)
    fell_through: Counter[str] = field(default_factory=Counter)


def replay(events: list[e.EventBase], side: Side, until: datetime) -> Simulator | None:
    """One incident's events in order, timers due strictly before an event firing first, then run to `until`
    (as `simulation.simulate_incident`, with this side's people). None if its first event is not accepted."""
    sim = Simulator(PolicyBook(side.policy), people=People(side.directory, side.default_team))
    for event in events:
        if event.occurred_at > until:
            break
        sim.advance(event.occurred_at, inclusive=False)
        sim.append(event)
    sim.advance(until)
    return sim if sim.accepted else None


def _add(tally: SideTally, sim: Simulator, side: Side, night: Night) -> None:
    state = sim.known.states[sim.accepted[0].incident_id]
    result = outcome(sim.accepted, sim.deliveries, state)
    tally.total.add(result)
    tally.priorities.setdefault(result.priority, Tally()).add(result)
    for page in (ev for ev in sim.accepted if isinstance(ev, e.IncidentPaged)):
        person = tally.people.setdefault(page.data.user, PersonTally())
        person.pages += 1
        person.incidents.add(page.incident_id)
        user = side.directory.users.get(page.data.user)
        person.night_pages += night.contains(page.occurred_at, ZoneInfo(user.time_zone if user else "UTC"))
    tally.fell_through.update(_fell_through(sim, side.directory))


def _fell_through(sim: Simulator, directory: DirectoryState) -> list[str]:
    """The schedules of the escalations that reached nobody because that schedule had nobody on call then."""
    reached = {d.about_event_id for d in sim.deliveries if d.undeliverable is None}
    found = []
    for event in (ev for ev in sim.accepted if isinstance(ev, e.IncidentEscalated)):
        named = _schedule_named(event, directory)
        schedule = directory.schedules.get(named) if named else None
        in_gap = schedule is not None and oncall_at(schedule, event.occurred_at).user is None
        if in_gap and schedule is not None and event.event_id not in reached:
            found.append(schedule.id)
    return found


def _schedule_named(event: e.IncidentEscalated, directory: DirectoryState) -> str | None:
    data = event.data
    if data.target_person is not None:
        return None
    if data.target_schedule is not None:
        return data.target_schedule
    team = directory.teams.get(data.target_team)
    return team.schedule if team is not None else None


def simulate_rotas(
    histories: dict[UUID, list[e.EventBase]],
    sides: Mapping[str, Side],
    since: datetime | None,
    until: datetime | None,
    night: Night,
) -> dict[str, Any]:
    """Replay every chosen incident under each side ("current", "candidate"); the report as plain data."""
    chosen, end = window(histories, since, until)
    tallies = {name: SideTally() for name in SIDES}
    for incident in sorted(chosen, key=lambda i: (chosen[i][0].occurred_at, str(i))):
        for name in SIDES:
            assert end is not None
            if (sim := replay(chosen[incident], sides[name], end)) is not None:
                _add(tallies[name], sim, sides[name], night)
    start = since or min((events[0].occurred_at for events in chosen.values()), default=None)
    return {
        "since": format_utc(since) if since else None,
        "until": format_utc(end) if end else None,
        "span": {"from": format_utc(start), "until": format_utc(end)} if start and end else None,
        "night": str(night),
        "policies": {name: {"id": sides[name].policy.id, "version": sides[name].policy.version} for name in SIDES},
        "directories": {name: sides[name].described for name in SIDES},
        "priorities": _priorities(tallies),
        "total": {name: tallies[name].total.as_dict() for name in SIDES},
        "people": _people(tallies, sides),
        "schedules": _schedules(tallies, sides, start, end),
    }


def _priorities(tallies: dict[str, SideTally]) -> dict[str, Any]:
    names = sorted({priority for tally in tallies.values() for priority in tally.priorities})
    return {p: {side: tallies[side].priorities.get(p, Tally()).as_dict() for side in SIDES} for p in names}


def _people(tallies: dict[str, SideTally], sides: Mapping[str, Side]) -> dict[str, Any]:
    paged = sorted({user for tally in tallies.values() for user in tally.people})
    report: dict[str, Any] = {}
    for user in paged:
        report[user] = {}
        for name in SIDES:
            known = sides[name].directory.users.get(user)
            tally = tallies[name].people.get(user, PersonTally())
            report[user][name] = tally.as_dict(known.time_zone if known else None)
    return report


def _schedules(
    tallies: dict[str, SideTally], sides: Mapping[str, Side], start: datetime | None, end: datetime | None
) -> dict[str, Any]:
    ids = sorted({key for side in sides.values() for key in side.directory.schedules})
    report: dict[str, Any] = {}
    for key in ids:
        versions = [side.directory.schedules.get(key) for side in sides.values()]
        report[key] = {"changed": versions[0] != versions[-1]}  # the candidate makes it another schedule
        for name in SIDES:
            schedule = sides[name].directory.schedules.get(key)
            found = gaps(schedule, start, end) if schedule and start and end and start < end else []
            report[key][name] = None if schedule is None else {
                "gaps": [{"start": format_utc(g.start), "end": format_utc(g.end),
                          "duration_s": (g.end - g.start).total_seconds()} for g in found],
                "gap_count": len(found),
                "gap_s": sum(((g.end - g.start).total_seconds() for g in found), 0.0),
                "fell_through": tallies[name].fell_through[key],
            }  # fmt: skip
    return report


def render_text(report: dict[str, Any], listed: int = 5) -> str:
    """The policy report's table, then one table per person and one per schedule, then the gaps themselves."""
    head = [f"{name:<9} directory: {report['directories'][name]}" for name in SIDES]
    head.append(f"night is {report['night']} in each person's own time zone (as the side's directory has it)")
    tables = [_text(_people_table(report["people"])), _text(_schedules_table(report["schedules"]))]
    gap_lines = _gap_lines(report["schedules"], listed)
    lines = ["", *head, "", *tables[0], "", *tables[1], *(["", *gap_lines] if gap_lines else [])]
    return render_policy_text(report) + "\n".join(lines) + "\n"


def _text(table: Table) -> list[str]:
    """A table as plain text lines (no colour, no trailing spaces), the same on every terminal."""
    out = io.StringIO()
    Console(file=out, width=160, color_system=None, highlight=False, emoji=False).print(table)
    return [line.rstrip() for line in out.getvalue().rstrip().splitlines()]


def _table(title: str, first: str, groups: tuple[str, ...]) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column(first)
    for group in groups:
        table.add_column(f"{group}\ncurrent", justify="right")
        table.add_column("\ncandidate", justify="right")
        table.add_column("\nchange", justify="right")
    return table


def _people_table(people: dict[str, Any]) -> Table:
    table = _table("per person", "person (time zone)", ("pages", "night pages", "incidents"))
    for user, sides in people.items():
        zones = sorted({zone for side in sides.values() if (zone := side["time_zone"])})
        cells = [_triple(sides, metric) for metric in ("pages", "night_pages", "incidents")]
        table.add_row(f"{user} ({', '.join(zones) or '?'})", *(cell for triple in cells for cell in triple))
    return table


def _notable(sides: dict[str, Any]) -> bool:
    """Worth a row: the candidate changes it, or it has gaps or fell-through escalations on a side."""
    shown = [side for name in SIDES if (side := sides[name])]
    return bool(sides["changed"] or any(side["gap_count"] or side["fell_through"] for side in shown))


def _schedules_table(schedules: dict[str, Any]) -> Table:
    table = _table("per schedule", "schedule", ("gaps", "gap time", "fell through"))
    quiet = sum(1 for sides in schedules.values() if not _notable(sides))
    if quiet:
        table.caption, table.caption_justify = f"{quiet} other schedule(s): unchanged, no gaps", "left"
    for key, sides in ((key, sides) for key, sides in schedules.items() if _notable(sides)):
        table.add_row(key, *_triple(sides, "gap_count"), *_triple(sides, "gap_s", _duration),
                      *_triple(sides, "fell_through"))  # fmt: skip
    return table


def _triple(sides: dict[str, Any], metric: str, shown: Callable[[float], str] = str) -> tuple[str, str, str]:
    """current, candidate, change ("-" where a side has no such schedule)."""
    a, b = (sides[name][metric] if sides[name] else None for name in SIDES)
    if a is None or b is None:
        return ("-" if a is None else shown(a), "-" if b is None else shown(b), "")
    sign = "-" if b < a else "+"
    return shown(a), shown(b), sign + shown(abs(b - a))


def _gap_lines(schedules: dict[str, Any], listed: int) -> list[str]:
    lines: list[str] = []
    for key, sides in schedules.items():
        for name in SIDES:
            found = sides[name]["gaps"] if sides[name] else []
            lines += [f"gap {name:<9} {key}: {g['start']} - {g['end']} ({_duration(g['duration_s'])})"
                      for g in found[:listed]]  # fmt: skip
            if len(found) > listed:
                lines.append(f"gap {name:<9} {key}: ... and {len(found) - listed} more (see --json)")
    return lines


def _duration(seconds: float) -> str:
    left = timedelta(seconds=round(seconds))
    days, rest = left.days, left.seconds
    parts = [(days, "d"), (rest // 3600, "h"), (rest % 3600 // 60, "m"), (rest % 60, "s")]
    return " ".join(f"{n}{unit}" for n, unit in parts if n) or "0s"
