"""Who may do what, on which incidents and with which field values: the one authorization table (issue 19,
finding 3; docs/decisions/0090). Pure.

Read it as the policy:

- **Roles** nest: reporter < responder < manager; admin may do anything; an auditor only reads; an integration
  (a monitoring system, a heartbeat) sends alerts and reads the verdicts of what it wrote; `system` is the
  platform's own writers, which have no token.
- **Objects**: people (reporter ... admin) act on every incident: incidents are the whole staff's business. An
  integration acts only on *its own* incidents, the ones it opened (the incident's `reporter` is the
  integration's principal), and reads only the verdicts of events it wrote. Its alerts' dedup keys are
  namespaced by its principal (`command_api.alert_routing`), so another integration's key never leads there.
- **Fields**: some values say more than the command does. An update to the `customers` audience is shown on the
  public status page and mailed to its subscribers: only a manager speaks to customers (the model has no
  incident commander). `drill: true` keeps an incident out of reports and off every real channel: only a
  manager starts a drill. Overriding the priority matrix is a manager's call.

`decide` checks `COMMANDS` before anything else, so every way in (the API, Slack, the console, page links)
gets the same answer; the read routes check `READS` (`read_refusal`). A refusal names its rule: the 403
problem's `rule`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from incidents_shared.domain import commands as c
from incidents_shared.domain.enums import Role

REPORTERS = frozenset({Role.REPORTER, Role.RESPONDER, Role.MANAGER, Role.ADMIN})
RESPONDERS = frozenset({Role.RESPONDER, Role.MANAGER, Role.ADMIN})
MANAGERS = frozenset({Role.MANAGER, Role.ADMIN})
READERS = frozenset(Role) - {Role.INTEGRATION, Role.SYSTEM}
AUDITORS = frozenset({Role.AUDITOR, Role.MANAGER, Role.ADMIN})
INTEGRATIONS = frozenset({Role.INTEGRATION, Role.ADMIN})
EVERY_TOKEN = frozenset(Role) - {Role.SYSTEM}
NOBODY: frozenset[Role] = frozenset()
OWN_ONLY = frozenset({Role.INTEGRATION})  # the roles that act on their own objects only


@dataclass(frozen=True)
class FieldRule:
    """A field value that needs more than the command itself: only `roles` may send it."""

    rule: str  # the name a refusal gives (the problem's `rule`)
    field: str
    condition: str  # the value, as the doc shows it
    when: Callable[[Any], bool]
    roles: frozenset[Role]


@dataclass(frozen=True)
class Grant:
    """Who may send a command (or call a read route), and of them which only on their own objects."""

    roles: frozenset[Role]
    own_only: frozenset[Role] = NOBODY
    fields: tuple[FieldRule, ...] = ()
    owner: str = "the incident's reporter (who opened it)"  # what "own" means for this entry


CUSTOMERS = FieldRule("customers-audience", "audience", "`customers`", lambda v: v == "customers", MANAGERS)
DRILL = FieldRule("drill", "drill", "`true`", lambda v: v is True, MANAGERS)
OVERRIDE = FieldRule("priority-override", "override_priority", "set", lambda v: v is not None, MANAGERS)
ALERTS = Grant(INTEGRATIONS, own_only=OWN_ONLY)

COMMANDS: dict[type[c.Command], Grant] = {
    c.LogIncident: Grant(REPORTERS, fields=(DRILL,)),
    c.PostUpdate: Grant(REPORTERS, fields=(CUSTOMERS,)),
    c.Categorize: Grant(RESPONDERS),
    c.Prioritize: Grant(RESPONDERS, fields=(OVERRIDE,)),
    c.Assign: Grant(RESPONDERS),
    c.Acknowledge: Grant(RESPONDERS),
    c.AcknowledgeFromPage: Grant(REPORTERS),  # the signed link is the authority: any person who can be paged
    c.StartInvestigation: Grant(RESPONDERS),
    c.AddNote: Grant(RESPONDERS),
    c.PutOnHold: Grant(RESPONDERS),
    c.Resume: Grant(RESPONDERS),
    c.DeclareMajor: Grant(RESPONDERS),
    c.Link: Grant(RESPONDERS),
    c.Resolve: Grant(RESPONDERS),
    c.Reopen: Grant(RESPONDERS),
    c.Escalate: Grant(MANAGERS),
    c.Close: Grant(MANAGERS),
    c.CompleteReview: Grant(MANAGERS),
    c.ReceiveAlert: ALERTS,
    c.ReceiveAlertGroup: ALERTS,
}

# The read routes that take an incident or an event id, and the lists: who may read, and which objects.
READS: dict[str, Grant] = {
    "GET /v1/incidents": Grant(READERS),
    "GET /v1/incidents/{incident_id}": Grant(READERS),
    "GET /v1/incidents/{incident_id}/timeline": Grant(READERS),
    "GET /v1/incidents/{incident_id}/audit": Grant(AUDITORS),
    "GET /v1/stream": Grant(READERS),
    "GET /v1/events/{event_id}": Grant(EVERY_TOKEN, own_only=OWN_ONLY, owner="the event's writer (its actor)"),
}
VERDICT = "GET /v1/events/{event_id}"

# What the routes, the console and Slack ask before they parse a body: the role alone.
COMMAND_ROLES: dict[type[c.Command], frozenset[Role]] = {command: grant.roles for command, grant in COMMANDS.items()}
PRIORITY_OVERRIDE_ROLES = OVERRIDE.roles


@dataclass(frozen=True)
class Refusal:
    rule: str
    detail: str


def may_issue(role: str, command: type[c.Command]) -> bool:
    return role in COMMAND_ROLES[command]


def command_refusal(role: str, actor_id: str, command: c.Command, owner: str | None) -> Refusal | None:
    """Why `actor_id` acting as `role` may not send `command` to the incident `owner` opened (None: not opened
    yet), or None when the table allows it."""
    grant = COMMANDS[type(command)]
    name = type(command).__name__
    if role not in grant.roles:
        return Refusal("role", f"role {role} may not {name}")
    for field in grant.fields:
        if field.when(getattr(command, field.field)) and role not in field.roles:
            return Refusal(field.rule, f"{field.field} {field.condition} needs the role {_names(field.roles)}")
    return _object_refusal(grant, role, actor_id, owner, f"{name} on an incident another principal opened")


def read_refusal(route: str, role: str, actor_id: str, owner: str | None) -> Refusal | None:
    """Why `role` may not read the object of `route` whose owner is `owner` (None: not recorded, e.g. a verdict
    judged before 0090), or None when it may. An owner not recorded is nobody's own."""
    grant = READS[route]
    if role not in grant.roles:
        return Refusal("role", f"role {role} may not call {route}")
    return _object_refusal(grant, role, actor_id, owner or "", f"read {route} of an object another principal wrote")


def _object_refusal(grant: Grant, role: str, actor_id: str, owner: str | None, what: str) -> Refusal | None:
    """`owner` None: the object does not exist yet (an alert opening its incident), so it will be the actor's."""
    if role in grant.own_only and owner is not None and owner != actor_id:
        return Refusal("own-objects-only", f"an {role} may only act on its own objects: not {what}")
    return None


def _names(roles: frozenset[Role]) -> str:
    return " or ".join(sorted(role.value for role in roles))
