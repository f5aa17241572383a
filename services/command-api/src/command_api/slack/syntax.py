"""The `/incident` slash command's syntax: its text parsed into what to do. Pure.

    /incident new P2 payments Checkout fails      log an incident (priority, service, title)
    /incident ack <incident id> [comment]         acknowledge
    /incident resolve <incident id> <summary>     resolve (code `fixed`)
    /incident note <incident id> <text>           add a note
    /incident status <incident id>                show it
    /incident oncall [team]                       who is on call now (every team, or one)
    /incident help                                this list

A command's body is validated by the same models as the HTTP API's; a value they refuse is a `Usage` naming
the field, and nothing runs.
"""

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from pydantic import ValidationError

from incidents_shared.domain import commands as c
from incidents_shared.domain.enums import Level, Priority
from incidents_shared.domain.priority import PRIORITY_MATRIX

HELP = """*/incident* runs incident commands as your directory user:
• `/incident new P2 payments Checkout fails`: log an incident (priority P1-P5, service, title)
• `/incident ack <incident id> [comment]`: acknowledge it
• `/incident resolve <incident id> <summary>`: resolve it (resolution code `fixed`)
• `/incident note <incident id> <text>`: add a note
• `/incident status <incident id>`: show it
• `/incident oncall [team]`: who is on call now
• `/incident help`: this list"""

Make = Callable[[str], c.Command]  # the command from the text after the incident id
Build = Callable[[], c.Command]

# The first impact x urgency the matrix maps to each priority (high impact first): what `new P2` logs.
LEVELS_OF: dict[Priority, tuple[Level, Level]] = {}
for _levels, _priority in PRIORITY_MATRIX.items():
    LEVELS_OF.setdefault(_priority, _levels)


@dataclass(frozen=True)
class Help:
    """Show the syntax; `problem` says what was wrong with the text, if anything."""

    problem: str | None = None


@dataclass(frozen=True)
class Run:
    """Run `command` on `incident_id` (None: a new incident); `verb` names it in the answer."""

    verb: str
    incident_id: UUID | None
    command: c.Command


@dataclass(frozen=True)
class ShowStatus:
    incident_id: UUID


@dataclass(frozen=True)
class ShowOnCall:
    team: str | None


Parsed = Help | Run | ShowStatus | ShowOnCall


def parse(text: str) -> Parsed:
    """What `/incident <text>` asks for."""
    verb, _, rest = text.strip().partition(" ")
    rest = rest.strip()
    match verb.lower():
        case "" | "help":
            return Help()
        case "new":
            return _new(rest)
        case "ack" | "acknowledge":
            return _on_incident("acknowledged", rest, lambda more: c.Acknowledge(comment=more or None))
        case "resolve":
            return _on_incident("resolved", rest, lambda more: c.Resolve(summary=more))
        case "note":
            return _on_incident("noted on", rest, lambda more: c.AddNote(text=more))
        case "status":
            return _status(rest)
        case "oncall":
            return ShowOnCall(rest or None)
    return Help(f"unknown subcommand {verb!r}")


def _new(rest: str) -> Parsed:
    parts = rest.split(maxsplit=2)
    if len(parts) < 3:
        return Help("new needs a priority, a service and a title: `/incident new P2 payments Checkout fails`")
    priority_text, service, title = parts
    try:
        impact, urgency = LEVELS_OF[Priority(priority_text.upper())]
    except ValueError:
        return Help(f"priority: {priority_text!r} is not one of P1, P2, P3, P4, P5")
    return _built("logged", None, lambda: c.LogIncident(title=title, service=service, impact=impact, urgency=urgency))


def _on_incident(verb: str, rest: str, make: Make) -> Parsed:
    head, _, more = rest.partition(" ")
    incident_id = _incident_id(head)
    if isinstance(incident_id, Help):
        return incident_id
    return _built(verb, incident_id, lambda: make(more.strip()))


def _status(rest: str) -> Parsed:
    incident_id = _incident_id(rest)
    return incident_id if isinstance(incident_id, Help) else ShowStatus(incident_id)


def _incident_id(text: str) -> UUID | Help:
    try:
        return UUID(text)
    except ValueError:
        return Help(f"incident id: {text!r} is not an incident id (a UUID, as the incident's messages show)")


def _built(verb: str, incident_id: UUID | None, make: Build) -> Parsed:
    try:
        return Run(verb, incident_id, make())
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "text"
        return Help(f"{field}: {error['msg']}")
