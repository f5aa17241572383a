"""Closed vocabularies of the incident domain."""

from enum import StrEnum


class Status(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    INVESTIGATING = "investigating"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = frozenset({Status.NEW, Status.ACKNOWLEDGED, Status.INVESTIGATING, Status.ON_HOLD})


class Level(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"
    P5 = "P5"


class Source(StrEnum):
    API = "api"
    ALERT = "alert"
    DRILL = "drill"


class NoteKind(StrEnum):
    NOTE = "note"
    DIAGNOSIS = "diagnosis"
    ROOT_CAUSE = "root_cause"
    WORKAROUND = "workaround"


class HoldReason(StrEnum):
    AWAITING_CALLER = "awaiting_caller"
    AWAITING_VENDOR = "awaiting_vendor"
    AWAITING_CHANGE = "awaiting_change"
    OTHER = "other"


class EscalationReason(StrEnum):
    MANUAL = "manual"
    ACK_SLA = "ack_sla"
    RESOLVE_SLA = "resolve_sla"
    PRIORITY_RAISED = "priority_raised"


class PageReason(StrEnum):
    """Why a person was paged."""

    STEP = "step"  # an escalation step of the policy (or a manual escalation to a team or schedule)
    ASSIGNMENT = "assignment"  # the incident was assigned to them
    MANUAL = "manual"  # a manual escalation named them
    DIGEST = "digest"  # one page listing the pages held back in a paging storm (docs/decisions/0075)


class ContactKind(StrEnum):
    """How a person is reached (a user's contact methods)."""

    EMAIL = "email"
    SLACK = "slack"
    WEBHOOK = "webhook"


class SlaTarget(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


class LinkRelation(StrEnum):
    DUPLICATE_OF = "duplicate_of"
    CAUSED_BY = "caused_by"
    RELATED = "related"


class ResolutionCode(StrEnum):
    FIXED = "fixed"
    WORKAROUND = "workaround"
    DUPLICATE = "duplicate"
    NO_FAULT_FOUND = "no_fault_found"
    CANCELLED = "cancelled"
    AUTO_RESOLVED = "auto_resolved"


class ActorKind(StrEnum):
    USER = "user"
    SERVICE = "service"
    SYSTEM = "system"


class Role(StrEnum):
    REPORTER = "reporter"
    RESPONDER = "responder"
    MANAGER = "manager"
    INTEGRATION = "integration"
    AUDITOR = "auditor"
    ADMIN = "admin"
    SYSTEM = "system"


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"
