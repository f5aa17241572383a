"""The directory's typed errors. Each names the field (`loc`, relative to the resource's body) or the resources.

Adapters map them: UnknownReference and InvalidOverride to 422, ResourceExists and StillReferenced to 409,
ResourceNotFound to 404, RevisionConflict to 412.
"""

from collections.abc import Mapping, Sequence

from incidents_shared.domain.errors import DomainError

Loc = tuple[str | int, ...]


def dotted(loc: Loc) -> str:
    return ".".join(str(part) for part in loc)


class DirectoryError(DomainError):
    """Base of every error the directory's decide step raises."""

    loc: Loc = ()

    @property
    def field(self) -> str:
        return dotted(self.loc)


class ResourceExists(DirectoryError):
    """A create of an id that exists."""

    def __init__(self, kind: str, resource_id: str) -> None:
        super().__init__(f"id: {kind} {resource_id!r} already exists")
        self.loc, self.kind, self.resource_id = ("id",), kind, resource_id


class ResourceNotFound(DirectoryError):
    """An update or delete of an id that does not exist."""

    def __init__(self, kind: str, resource_id: str, loc: Loc = ("id",)) -> None:
        super().__init__(f"{dotted(loc)}: {kind} {resource_id!r} does not exist")
        self.loc, self.kind, self.resource_id = loc, kind, resource_id


class RevisionConflict(DirectoryError):
    """The client's If-Match names a revision the resource is no longer at."""

    def __init__(self, kind: str, resource_id: str, expected: int, current: int) -> None:
        super().__init__(f"expected revision {expected}, {kind} {resource_id!r} is at revision {current}")
        self.kind, self.resource_id, self.expected, self.current = kind, resource_id, expected, current


class UnknownReference(DirectoryError):
    """A field names a user, team or schedule the directory does not hold."""

    def __init__(self, loc: Loc, kind: str, resource_id: str) -> None:
        super().__init__(f"{dotted(loc)}: unknown {kind} {resource_id!r}")
        self.loc, self.kind, self.resource_id = loc, kind, resource_id


class StillReferenced(DirectoryError):
    """A delete of a resource others still name; `by` lists them per kind (e.g. {"teams": ("ops",)})."""

    def __init__(self, kind: str, resource_id: str, by: Mapping[str, Sequence[str]]) -> None:
        listed = "; ".join(f"{where} {', '.join(ids)}" for where, ids in by.items())
        super().__init__(f"{kind} {resource_id!r} is still referenced by {listed}")
        self.kind, self.resource_id = kind, resource_id
        self.by = {where: tuple(ids) for where, ids in by.items()}


class InvalidOverride(DirectoryError):
    """An override that is inverted or overlaps another override of the same schedule."""

    def __init__(self, loc: Loc, reason: str) -> None:
        super().__init__(f"{dotted(loc)}: {reason}")
        self.loc = loc


class InvalidDirectoryChange(DirectoryError):
    """A well-formed change the directory does not take (e.g. overrides inside a schedule's body)."""

    def __init__(self, loc: Loc, reason: str) -> None:
        super().__init__(f"{dotted(loc)}: {reason}")
        self.loc = loc
