"""What Slack shows the person who typed a command or pressed a button: one ephemeral message. Pure."""

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from command_api.outcomes import Accepted, CommandOutcome, Pending, Refused, Rejected
from incidents_shared.domain.directory import DirectoryState, oncall_for_team
from incidents_shared.domain.escalation.slack_blocks import escape
from incidents_shared.domain.state import Incident
from incidents_shared.domain.timeutil import format_utc

UNLINKED = (
    "Your Slack account is not linked to a user of the incident platform, so nothing was done. "
    "Ask an admin to add `slack_user_id: {slack_user}` to your user in the directory "
    "(`PUT /v1/users/<your id>`, or `incidentctl directory apply`)."
)
DIRECTORY_LOADING = "The directory is still being read; nothing was done. Try again in a few seconds."
LOG_DOWN = "The incident log is unavailable right now; nothing was done. Try again shortly."


def summary(incident: Incident) -> str:
    """`[P2] Title (service), status: new`, escaped."""
    priority = incident.priority.value if incident.priority else "-"
    head = f"[{priority}] {escape(incident.title)} ({escape(incident.service)})"
    return f"{head}, status: {incident.status.value}"


def outcome(verb: str, incident_id: UUID | None, result: CommandOutcome) -> str:
    """The outcome of a command run for the person, in a sentence."""
    if isinstance(result, Accepted):
        incident = Incident.model_validate_json(result.state_json)
        return f"{verb.capitalize()}: {summary(incident)}. Incident {incident.incident_id}"
    if isinstance(result, Pending):
        about = f" Check with `/incident status {incident_id}`." if incident_id else ""
        return f"Sent to the incident log; its verdict is not in yet (event {result.event_id}).{about}"
    if isinstance(result, Refused):
        return f"Not done: {escape(str(result.error))}"
    if isinstance(result, Rejected):
        return f"Not done: the incident log refused it ({escape(result.reason or 'conflict')})"
    return "Not done: this request was answered before"


def forbidden(role: str, verb: str) -> str:
    return f"Not done: your role ({role}) may not do this (the incident would be {verb})."


def status(incident_id: UUID, incident: Incident | None) -> str:
    if incident is None:
        return f"No incident {incident_id}."
    who = ", ".join(f"{k}: {escape(v)}" for k, v in (("team", incident.team), ("assignee", incident.assignee)) if v)
    return f"{summary(incident)}" + (f", {who}" if who else "") + f". Incident {incident.incident_id}"


def oncall(state: DirectoryState, team: str | None, now: datetime) -> str:
    """Who is on call now for `team`, or for every team."""
    if team is not None and team not in state.teams:
        return f"No team {escape(team)!r} in the directory."
    teams = [team] if team is not None else sorted(state.teams)
    lines = list(_oncall_lines(state, teams, now))
    return "\n".join(lines) if lines else "No teams in the directory."


def _oncall_lines(state: DirectoryState, teams: Iterable[str], now: datetime) -> Iterable[str]:
    for team in teams:
        answer = oncall_for_team(state, team, now)
        if answer is None:
            yield f"{team}: no schedule"
        elif answer.user is None:
            yield f"{team}: nobody (a gap in the schedule)"
        else:
            until = f" until {format_utc(answer.until)}" if answer.until else ""
            yield f"{team}: {answer.user}{until}"
