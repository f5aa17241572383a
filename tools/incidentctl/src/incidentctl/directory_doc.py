"""The directory as one document (the YAML file `incidentctl directory apply` reads and `export` writes).

`{users: [...], teams: [...], services: [...], schedules: [{..., overrides: [...]}]}`: the shape of
`GET /v1/directory`, validated with the domain's own models, so two documents that differ only in formatting or
in spelled-out defaults are the same `Directory`. Pure: no I/O.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import Field, ValidationError

from incidents_shared.domain.directory import DirectoryState, Entry, Kind, Service, Team, User
from incidents_shared.domain.directory.commands import DirectorySchedule
from incidents_shared.domain.oncall import Override, Schedule
from incidents_shared.domain.text import StorableModel

# The order the kinds are created in (each may name only the kinds before it); deletes go the other way.
KINDS: tuple[Kind, ...] = (Kind.USER, Kind.SCHEDULE, Kind.TEAM, Kind.SERVICE)
PLURAL: dict[Kind, str] = {Kind.USER: "users", Kind.SCHEDULE: "schedules", Kind.TEAM: "teams", Kind.SERVICE: "services"}
SECTIONS = ("users", "teams", "services", "schedules")  # the document's order (people first, as one reads it)

OverrideKey = tuple[str, datetime]  # (user, start): the overrides of one schedule never overlap
Resource = User | Team | Service | Schedule


class DirectoryDocument(StorableModel):
    """The document's top level: unknown sections are refused, missing ones are empty."""

    users: list[User] = Field(default_factory=list)
    teams: list[Team] = Field(default_factory=list)
    services: list[Service] = Field(default_factory=list)
    schedules: list[DirectorySchedule] = Field(default_factory=list)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document: where (`users.0.email`) and what."""

    path: str
    message: str


class InvalidDirectory(ValueError):
    """A document that does not describe a directory; `problems` names every field at fault."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Directory:
    """Resources by id per kind (schedules with their overrides) and where each stands in its document."""

    tables: Mapping[Kind, Mapping[str, Resource]] = field(default_factory=dict)
    where: Mapping[tuple[Kind, str], str] = field(default_factory=dict)

    def table(self, kind: Kind) -> Mapping[str, Resource]:
        return self.tables.get(kind, {})

    def schedule(self, schedule_id: str) -> Schedule | None:
        found = self.table(Kind.SCHEDULE).get(schedule_id)
        return found if isinstance(found, Schedule) else None

    def counts(self) -> dict[str, int]:
        """Resources per section, e.g. {"users": 5, "teams": 2, ...}."""
        return {section: len(self.table(kind_of(section))) for section in SECTIONS}


def kind_of(section: str) -> Kind:
    return next(kind for kind, plural in PLURAL.items() if plural == section)


def overrides_of(schedule: Schedule | None) -> dict[OverrideKey, Override]:
    return {(o.user, o.start): o for o in schedule.overrides} if schedule is not None else {}


def _message(error: Any) -> str:
    message = str(error["msg"])
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _repeated_ids(document: DirectoryDocument) -> list[Problem]:
    problems = []
    for section in SECTIONS:
        first: dict[str, int] = {}
        for index, resource in enumerate(getattr(document, section)):
            if resource.id in first:
                at = f"{section}.{first[resource.id]}"
                problems.append(Problem(f"{section}.{index}.id", f"repeated id {resource.id!r} (first at {at})"))
            first.setdefault(resource.id, index)
    for index, schedule in enumerate(document.schedules):
        seen: set[OverrideKey] = set()
        for position, override in enumerate(schedule.overrides):
            if (override.user, override.start) in seen:
                where = f"schedules.{index}.overrides.{position}"
                problems.append(Problem(where, f"repeated override of {override.user!r} from {override.start}"))
            seen.add((override.user, override.start))
    return problems + _repeated_slack_users(document)


def _repeated_slack_users(document: DirectoryDocument) -> list[Problem]:
    """A Slack member id links one user (docs/decisions/0080)."""
    problems: list[Problem] = []
    first: dict[str, int] = {}
    for index, user in enumerate(document.users):
        if (slack := user.slack_user_id) is not None and slack in first:
            at = f"users.{first[slack]}"
            problems.append(Problem(f"users.{index}.slack_user_id", f"repeated Slack id {slack!r} (first at {at})"))
        if slack is not None:
            first.setdefault(slack, index)
    return problems


def parse_directory(data: Any) -> Directory:
    """Validate a document (parsed YAML or JSON) into a Directory, or raise InvalidDirectory naming each field."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidDirectory([Problem("(top level)", f"must be a mapping of {', '.join(SECTIONS)}")])
    try:
        document = DirectoryDocument.model_validate(data)
    except ValidationError as exc:
        raise InvalidDirectory([Problem(_path(e["loc"]), _message(e)) for e in exc.errors()]) from None
    if problems := _repeated_ids(document):
        raise InvalidDirectory(problems)
    tables: dict[Kind, dict[str, Resource]] = {}
    where: dict[tuple[Kind, str], str] = {}
    for kind in KINDS:
        resources: list[Resource] = getattr(document, PLURAL[kind])
        tables[kind] = {r.id: r for r in resources}
        where |= {(kind, r.id): f"{PLURAL[kind]}.{i}" for i, r in enumerate(resources)}
    return Directory(tables, where)


def to_document(directory: Directory) -> dict[str, list[dict[str, Any]]]:
    """The document of a directory: sorted by id, defaults left out (what `export` writes, `apply` reads back)."""
    document: dict[str, list[dict[str, Any]]] = {}
    for section in SECTIONS:
        table = directory.table(kind_of(section))
        document[section] = [_plain(table[key]) for key in sorted(table)]
    return document


def _plain(resource: Resource) -> dict[str, Any]:
    if isinstance(resource, Schedule):
        resource = resource.model_copy(update={"overrides": sorted(resource.overrides, key=lambda o: o.start)})
    plain: dict[str, Any] = resource.model_dump(mode="json", exclude_defaults=True)
    return plain


def state_of(directory: Directory) -> DirectoryState:
    """The domain's DirectoryState holding these resources (revisions are not known here: each is 1)."""

    def entries(kind: Kind) -> dict[str, Entry[Any]]:
        return {key: Entry(value, 1) for key, value in directory.table(kind).items()}

    return DirectoryState(
        entries_users=entries(Kind.USER),
        entries_teams=entries(Kind.TEAM),
        entries_services=entries(Kind.SERVICE),
        entries_schedules=entries(Kind.SCHEDULE),
    )
