"""Slack's requests, once verified: the slash command and the buttons, run as the Slack user's directory user.

The order is fixed: the signature on the raw body, then the replay check (shared by every instance), then the
form is parsed; only then is anyone looked up. A Slack user no directory user is linked to (`slack_user_id`)
is told how to link their account and nothing runs. Commands go through the same use case as the HTTP API
(`CommandService`: the same `decide`, as that user with their role now, the verdict awaited) with a wait short
enough for Slack's 3 seconds; a late verdict is answered as pending.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

import structlog

from command_api.auth import Principal
from command_api.page_link_service import Commands
from command_api.ports import Clock, SystemClock
from command_api.service import Request
from command_api.slack import replies
from command_api.slack.replay import SeenSignatures
from command_api.slack.signature import SlackRequestRefused, verify
from command_api.slack.syntax import HELP, Help, Parsed, Run, ShowOnCall, ShowStatus, parse
from incidents_shared.appender import LogUnavailable
from incidents_shared.domain import commands as c
from incidents_shared.domain.authorization import READERS, may_issue
from incidents_shared.domain.directory import DirectoryState, User
from incidents_shared.domain.escalation.slack_blocks import ACKNOWLEDGE, OPEN, RESOLVE
from incidents_shared.domain.state import Incident

log = structlog.get_logger(__name__)


class Incidents(Protocol):
    async def incident(self, incident_id: UUID) -> Incident | None:
        """The incident's current state, None when it does not exist."""


@dataclass(frozen=True)
class Directory:
    """The directory as this instance has folded it, and whether it has read all of it yet."""

    state: Callable[[], DirectoryState]
    ready: Callable[[], bool]


@dataclass
class SlackService:
    signing_secret: str
    seen: SeenSignatures
    commands: Commands  # a CommandService whose verdict wait fits in Slack's 3 seconds
    incidents: Incidents
    directory: Directory
    clock: Clock = field(default_factory=SystemClock)

    async def verified(self, timestamp: str | None, signature: str | None, body: bytes) -> None:
        """Returns when the request is genuine, fresh and new; raises SlackRequestRefused otherwise."""
        now = self.clock.now()
        signed = verify(self.signing_secret, timestamp, signature, body, now)
        if not await self.seen.first_seen(signed, now):
            raise SlackRequestRefused("this request was received before (a replay)")

    async def slash_command(self, form: Mapping[str, str], correlation_id: str) -> str:
        """`/incident <text>` from the Slack user `user_id`: the ephemeral answer."""
        user = self._user(form.get("user_id", ""))
        if isinstance(user, str):
            return user
        parsed = parse(form.get("text", ""))
        log.info("slack_command", user=user.id, subcommand=type(parsed).__name__)
        return await self._do(user, parsed, correlation_id)

    async def button(self, payload: Mapping[str, Any], correlation_id: str) -> str:
        """A pressed button of one of our messages (`block_actions`): the ephemeral answer."""
        if payload.get("type") != "block_actions":
            return f"Nothing done: only buttons (block_actions) are handled, not {str(payload.get('type'))!r}."
        slack_user = payload.get("user")
        user = self._user(slack_user.get("id", "") if isinstance(slack_user, Mapping) else "")
        if isinstance(user, str):
            return user
        action = _first_action(payload)
        if action is None:
            return "Nothing to do: the request names no action."
        action_id, value = action
        log.info("slack_button", user=user.id, action=action_id)
        if action_id == OPEN:
            return "Opening the incident."
        command = _BUTTONS.get(action_id)
        if command is None:
            return f"Nothing done: unknown action {action_id!r}."
        try:
            incident_id = UUID(value)
        except ValueError:
            return "Nothing done: the button names no incident."
        verb, make = command
        return await self._do(user, Run(verb, incident_id, make(user)), correlation_id)

    def _user(self, slack_user: str) -> User | str:
        """The directory user linked to `slack_user`, or the answer saying why there is none."""
        if not self.directory.ready():
            return replies.DIRECTORY_LOADING
        found = self.directory.state().users_by_slack.get(slack_user)
        if found is None:
            log.info("slack_user_unlinked", slack_user=slack_user)
            return replies.UNLINKED.format(slack_user=slack_user or "<your Slack member id>")
        return found

    async def _do(self, user: User, parsed: Parsed, correlation_id: str) -> str:
        match parsed:
            case Help(problem=None):
                return HELP
            case Help(problem=problem):
                return f"Not done: {problem}\n\n{HELP}"
            case ShowStatus(incident_id=incident_id):
                if user.role not in READERS:
                    return replies.forbidden(user.role.value, "shown")
                return replies.status(incident_id, await self.incidents.incident(incident_id))
            case ShowOnCall(team=team):
                return replies.oncall(self.directory.state(), team, self.clock.now())
            case Run():
                return await self._run(user, parsed, correlation_id)
        raise AssertionError(f"unhandled {parsed!r}")  # pragma: no cover (the match is exhaustive)

    async def _run(self, user: User, run: Run, correlation_id: str) -> str:
        if not may_issue(user.role, type(run.command)):
            return replies.forbidden(user.role.value, run.verb)
        request = Request(Principal(id=user.id, role=user.role), run.incident_id, run.command, correlation_id)
        try:
            result = await self.commands.execute(request)
        except LogUnavailable:
            return replies.LOG_DOWN
        log.info("slack_command_run", user=user.id, command=type(run.command).__name__, outcome=type(result).__name__)
        return replies.outcome(run.verb, run.incident_id, result)


def _first_action(payload: Mapping[str, Any]) -> tuple[str, str] | None:
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], Mapping):
        return None
    action_id, value = actions[0].get("action_id"), actions[0].get("value", "")
    return (action_id, value if isinstance(value, str) else "") if isinstance(action_id, str) else None


ButtonCommand = tuple[str, Callable[[User], c.Command]]
_BUTTONS: dict[str, ButtonCommand] = {
    ACKNOWLEDGE: ("acknowledged", lambda user: c.Acknowledge()),
    RESOLVE: ("resolved", lambda user: c.Resolve(summary=f"Resolved from Slack by {user.id}")),
}
