"""Questions the rest of the platform asks the directory: whose incident is it, who is on call for a team, and
whose personal token is this."""

from datetime import datetime

from incidents_shared.domain.directory.state import DirectoryState
from incidents_shared.domain.directory.tokens import Token, role_within
from incidents_shared.domain.oncall import OnCall, oncall_at


def owner_team(state: DirectoryState, service_id: str, default_team: str) -> str:
    """The team that owns an incident of `service_id`: the service's owner, else `default_team`, never nobody."""
    service = state.services.get(service_id)
    return service.owner_team if service is not None else default_team


def oncall_for_team(state: DirectoryState, team_id: str, at: datetime) -> OnCall | None:
    """Who of the team's schedule is on call at `at`; None when the team is unknown or has no schedule.

    The answer may still be a gap (`user` None): paging falls through to the next level then.
    """
    team = state.teams.get(team_id)
    if team is None or team.schedule is None:
        return None
    schedule = state.schedules.get(team.schedule)
    return oncall_at(schedule, at) if schedule is not None else None


def token_holder(state: DirectoryState, token_hash: str) -> Token | None:
    """The personal token with this hash, if it works now: not revoked, its user live and still entitled to its
    role (a user whose role was lowered cannot act above it with an older token)."""
    token = state.tokens_by_hash.get(token_hash)
    if token is None:
        return None
    user = state.users.get(token.user)
    return token if user is not None and role_within(token.role, user.role) else None
