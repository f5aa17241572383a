"""The typed errors of the domain; adapters map them to HTTP statuses or verdicts."""


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""


class UndecodableEvent(DomainError):
    """A log record that is not a valid event of the catalogue (a poison message)."""


class IncidentNotFound(DomainError):
    """A command addressed an incident that does not exist."""


class InvalidTransition(DomainError):
    """The command is not allowed in the incident's current state."""


class VersionConflict(DomainError):
    """The client's If-Match names a revision the incident is no longer at."""

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(f"expected revision {expected}, incident is at revision {current}")
        self.expected = expected
        self.current = current


class Forbidden(DomainError):
    """The actor may not issue this command; `rule` names the authorization table's rule (domain/authorization)."""

    def __init__(self, message: str, rule: str = "role") -> None:
        super().__init__(message)
        self.rule = rule


class InvalidCommand(DomainError):
    """The command is well-formed but makes no sense (e.g. an unknown category)."""
