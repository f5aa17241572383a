"""Whom an escalation or an assignment pages, from the directory at that instant. Pure.

A step or a manual escalation names a person (`target_person`), a schedule (`target_schedule`) or a team. A team
of the directory pages whoever is on call on its schedule, else all its members; a team the directory does not
know pages nobody in person (its channels in the policy may still carry the page). A schedule with nobody on call
is a gap: it is reported (`Reach.missing`) and the escalation falls through to the next level.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from incidents_shared.domain import events as e
from incidents_shared.domain.directory.queries import owner_team
from incidents_shared.domain.directory.state import DirectoryState
from incidents_shared.domain.enums import EscalationReason, PageReason
from incidents_shared.domain.oncall import OnCall, oncall_at
from incidents_shared.domain.state import Incident
from incidents_shared.domain.timeutil import format_utc

# Page links for a page: (incident, page, user, paged at) -> {"acknowledge": url, "incident": url}.
PageLinks = Callable[[UUID, UUID, str, datetime], dict[str, str]]


def no_links(incident_id: UUID, page_id: UUID, user: str, paged_at: datetime) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class People:
    """What the escalator knows of people when it reacts: the directory folded so far, the team an incident of
    an uncatalogued service belongs to, and how a page's signed links are made."""

    directory: DirectoryState = field(default_factory=DirectoryState)
    default_team: str = "service-desk"
    links: PageLinks = no_links

    def owner_of(self, state: Incident) -> str:
        return owner_team(self.directory, state.service, self.default_team)


@dataclass(frozen=True)
class Target:
    """One person to page, and why."""

    user: str
    reason: PageReason
    team: str | None = None
    schedule: str | None = None
    source: str | None = None  # the layer that put them on call, or "override"


@dataclass
class Reach:
    """Whom to page, and why someone meant to be paged cannot be (a gap, an unknown user, no contact methods)."""

    targets: list[Target] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def for_escalation(event: e.IncidentEscalated, people: People) -> Reach:
    """Whom an escalation pages, resolved at the instant it happened."""
    data, at = event.data, event.occurred_at
    reason = PageReason.MANUAL if data.reason is EscalationReason.MANUAL else PageReason.STEP
    if data.target_person is not None:
        return _person(Target(data.target_person, reason, data.target_team), people)
    if data.target_schedule is not None:
        return _on_schedule(data.target_schedule, data.target_team, reason, at, people)
    team = people.directory.teams.get(data.target_team)
    if team is None:
        return Reach()  # not a team of the directory: only the policy's channels for it, if any
    if team.schedule is not None:
        return _on_schedule(team.schedule, team.id, reason, at, people)
    reach = Reach()
    for member in team.members:
        one = _person(Target(member, reason, team.id), people)
        reach.targets += one.targets
        reach.missing += one.missing
    if not team.members:
        reach.missing.append(f"team {team.id!r} has no schedule and no members")
    return reach


def for_assignment(event: e.IncidentAssigned, before: Incident | None, people: People) -> Reach:
    """Assigning an incident to a person pages that person (once per new assignee)."""
    assignee = event.data.assignee
    if assignee is None or (before is not None and before.assignee == assignee):
        return Reach()
    return _person(Target(assignee, PageReason.ASSIGNMENT, event.data.team), people)


def _on_schedule(schedule_id: str, team: str | None, reason: PageReason, at: datetime, people: People) -> Reach:
    schedule = people.directory.schedules.get(schedule_id)
    if schedule is None:
        return Reach(missing=[f"schedule {schedule_id!r} is not in the directory"])
    now: OnCall = oncall_at(schedule, at)
    if now.user is None:
        until = format_utc(now.until) if now.until else "beyond the horizon"
        return Reach(missing=[f"schedule {schedule_id!r} has nobody on call at {format_utc(at)} (gap until {until})"])
    return _person(Target(now.user, reason, team, schedule_id, now.source), people)


def _person(target: Target, people: People) -> Reach:
    user = people.directory.users.get(target.user)
    if user is None:
        return Reach(missing=[f"user {target.user!r} is not in the directory"])
    if not user.contact_methods:
        return Reach(missing=[f"user {target.user!r} has no contact methods"])
    return Reach(targets=[target])
