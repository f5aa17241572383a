"""Which roles may issue which command. Roles nest: reporter < responder < manager; admin may do anything."""

from incidents_shared.domain import commands as c
from incidents_shared.domain.enums import Role

REPORTERS = frozenset({Role.REPORTER, Role.RESPONDER, Role.MANAGER, Role.ADMIN})
RESPONDERS = frozenset({Role.RESPONDER, Role.MANAGER, Role.ADMIN})
MANAGERS = frozenset({Role.MANAGER, Role.ADMIN})
READERS = frozenset(Role) - {Role.INTEGRATION, Role.SYSTEM}
AUDITORS = frozenset({Role.AUDITOR, Role.MANAGER, Role.ADMIN})
INTEGRATIONS = frozenset({Role.INTEGRATION, Role.ADMIN})

COMMAND_ROLES: dict[type[c.Command], frozenset[Role]] = {
    c.LogIncident: REPORTERS,
    c.PostUpdate: REPORTERS,
    c.Categorize: RESPONDERS,
    c.Prioritize: RESPONDERS,
    c.Assign: RESPONDERS,
    c.Acknowledge: RESPONDERS,
    c.AcknowledgeFromPage: REPORTERS,  # the signed link is the authority; any person who can be paged may use it
    c.StartInvestigation: RESPONDERS,
    c.AddNote: RESPONDERS,
    c.PutOnHold: RESPONDERS,
    c.Resume: RESPONDERS,
    c.DeclareMajor: RESPONDERS,
    c.Link: RESPONDERS,
    c.Resolve: RESPONDERS,
    c.Reopen: RESPONDERS,
    c.Escalate: MANAGERS,
    c.Close: MANAGERS,
    c.CompleteReview: MANAGERS,
    c.ReceiveAlert: INTEGRATIONS,
    c.ReceiveAlertGroup: INTEGRATIONS,
}

PRIORITY_OVERRIDE_ROLES = MANAGERS


def may_issue(role: str, command: type[c.Command]) -> bool:
    return role in COMMAND_ROLES[command]
