"""What `incidentctl directory apply` changes: the diff of two directories and the commands it takes. Pure.

Resources are compared as validated models (a schedule without its overrides; each override on its own, known
by its user and start), so formatting and spelled-out defaults are no change. Every change carries the domain
commands it needs, each in a phase that makes the whole plan dependency-safe: removed overrides first (an
override that moves must not overlap its old self), then users, schedules, teams, services and added overrides
(each names only the kinds before it), then deletes in the reverse order. `check` runs the plan through the
domain's own `decide` before anything is sent, so a file the directory would refuse halfway is refused whole.
"""

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from incidentctl.directory_doc import KINDS, PLURAL, Directory, OverrideKey, Resource, overrides_of, state_of
from incidents_shared.domain.directory import (
    AddOverride,
    DirectoryCommand,
    DirectoryMeta,
    Kind,
    RemoveOverride,
    decide,
    evolve,
)
from incidents_shared.domain.directory import commands as c
from incidents_shared.domain.directory.errors import DirectoryError
from incidents_shared.domain.enums import ActorKind
from incidents_shared.domain.events import Actor
from incidents_shared.domain.oncall import Override, Schedule

OVERRIDE = "override"


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class Phase(IntEnum):
    """The order the commands are sent in."""

    REMOVE_OVERRIDE = 0
    USER, SCHEDULE, TEAM, SERVICE = 1, 2, 3, 4
    ADD_OVERRIDE = 5
    DELETE_SERVICE, DELETE_TEAM, DELETE_SCHEDULE, DELETE_USER = 6, 7, 8, 9


_UPSERT_PHASE = {
    Kind.USER: Phase.USER,
    Kind.SCHEDULE: Phase.SCHEDULE,
    Kind.TEAM: Phase.TEAM,
    Kind.SERVICE: Phase.SERVICE,
}
_DELETE_PHASE = {
    Kind.USER: Phase.DELETE_USER,
    Kind.SCHEDULE: Phase.DELETE_SCHEDULE,
    Kind.TEAM: Phase.DELETE_TEAM,
    Kind.SERVICE: Phase.DELETE_SERVICE,
}
Make = Callable[[Any], DirectoryCommand]
_COMMANDS: dict[Kind, tuple[Make, Make, Make]] = {  # create, update, delete
    Kind.USER: (lambda r: c.CreateUser(user=r), lambda r: c.UpdateUser(user=r), lambda key: c.DeleteUser(id=key)),
    Kind.TEAM: (lambda r: c.CreateTeam(team=r), lambda r: c.UpdateTeam(team=r), lambda key: c.DeleteTeam(id=key)),
    Kind.SERVICE: (
        lambda r: c.CreateService(service=r),
        lambda r: c.UpdateService(service=r),
        lambda key: c.DeleteService(id=key),
    ),
    Kind.SCHEDULE: (
        lambda r: c.CreateSchedule(schedule=r),
        lambda r: c.UpdateSchedule(schedule=r),
        lambda key: c.DeleteSchedule(id=key),
    ),
}


@dataclass(frozen=True)
class FieldChange:
    path: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Step:
    phase: Phase
    command: DirectoryCommand


@dataclass(frozen=True)
class Change:
    """One resource to create, change or delete; `where` is its place in the file (its section for a delete)."""

    kind: str  # a Kind, or "override"
    key: str  # the resource's id; an override's "<schedule>/<user>@<start>"
    action: Action
    where: str
    fields: tuple[FieldChange, ...] = ()
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True)
class Diff:
    changes: tuple[Change, ...] = ()
    unchanged: int = 0
    kept: int = 0  # on the server, not in the file, left as they are (no --prune)

    def steps(self) -> list[Step]:
        """Every command of every change, in a dependency-safe order (stable within a phase)."""
        return sorted((step for change in self.changes for step in change.steps), key=lambda step: step.phase)

    def count(self, action: Action) -> int:
        return sum(1 for change in self.changes if change.action is action)


def _body(resource: Resource) -> dict[str, Any]:
    """What an update of the resource replaces (a schedule's overrides change by commands of their own)."""
    exclude = {"overrides"} if isinstance(resource, Schedule) else set()
    body: dict[str, Any] = resource.model_dump(mode="json", exclude=exclude)
    return body


def field_changes(before: Any, after: Any, path: str = "") -> list[FieldChange]:
    """Where two JSON values differ: by key in mappings, by position in lists of mappings of the same length."""
    if before == after:
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        keys = [*before, *(key for key in after if key not in before)]
        return [fc for key in keys for fc in field_changes(before.get(key), after.get(key), _join(path, key))]
    same_length = isinstance(before, list) and isinstance(after, list) and len(before) == len(after)
    if same_length and any(isinstance(item, dict) for item in before):
        return [
            fc for i, (b, a) in enumerate(zip(before, after, strict=True)) for fc in field_changes(b, a, _join(path, i))
        ]
    return [FieldChange(path, before, after)]


def _join(path: str, part: str | int) -> str:
    return f"{path}.{part}" if path else str(part)


def _upsert(kind: Kind, key: str, before: Resource | None, after: Resource, where: str) -> Change | None:
    create, update, _ = _COMMANDS[kind]
    phase = _UPSERT_PHASE[kind]
    if isinstance(after, Schedule):
        after = after.model_copy(update={"overrides": []})
    if before is None:
        return Change(kind, key, Action.CREATE, where, steps=(Step(phase, create(after)),))
    fields = field_changes(_body(before), _body(after))
    if not fields:
        return None
    return Change(kind, key, Action.UPDATE, where, tuple(fields), (Step(phase, update(after)),))


def _delete(kind: Kind, key: str) -> Change:
    command = _COMMANDS[kind][2](key)
    return Change(kind, key, Action.DELETE, PLURAL[kind], steps=(Step(_DELETE_PHASE[kind], command),))


def override_key(schedule_id: str, user: str, start: datetime) -> str:
    return f"{schedule_id}/{user}@{start.isoformat().replace('+00:00', 'Z')}"


def _override_changes(schedule_id: str, have: Schedule | None, want: Schedule, where: str, prune: bool) -> Diff:
    current, desired = overrides_of(have), overrides_of(want)
    changes: list[Change] = []
    unchanged = 0
    for position, override in enumerate(want.overrides):
        key: OverrideKey = (override.user, override.start)
        change = _override_upsert(schedule_id, current.get(key), override, f"{where}.overrides.{position}")
        changes += [change] if change else []
        unchanged += change is None
    extra = [key for key in current if key not in desired]
    if not prune:
        return Diff(tuple(changes), unchanged, len(extra))
    return Diff((*changes, *(_override_removal(schedule_id, *key, where) for key in extra)), unchanged)


def _override_removal(schedule_id: str, user: str, start: datetime, where: str) -> Change:
    remove = Step(Phase.REMOVE_OVERRIDE, RemoveOverride(schedule_id=schedule_id, user=user, start=start))
    return Change(OVERRIDE, override_key(schedule_id, user, start), Action.DELETE, where, (), (remove,))


def _override_upsert(schedule_id: str, before: Override | None, after: Override, where: str) -> Change | None:
    key = override_key(schedule_id, after.user, after.start)
    add = Step(Phase.ADD_OVERRIDE, AddOverride(schedule_id=schedule_id, override=after))
    if before is None:
        return Change(OVERRIDE, key, Action.CREATE, where, steps=(add,))
    if before == after:
        return None
    remove = Step(Phase.REMOVE_OVERRIDE, RemoveOverride(schedule_id=schedule_id, user=before.user, start=before.start))
    fields = field_changes(before.model_dump(mode="json"), after.model_dump(mode="json"))
    return Change(OVERRIDE, key, Action.UPDATE, where, tuple(fields), (remove, add))


def diff(current: Directory, desired: Directory, prune: bool = False) -> Diff:
    """What makes `current` what `desired` says: every resource of the file, and (with `prune`) no other."""
    parts = [_kind_changes(kind, current, desired, prune) for kind in KINDS]
    for key, schedule in desired.table(Kind.SCHEDULE).items():
        assert isinstance(schedule, Schedule)
        where = desired.where.get((Kind.SCHEDULE, key), PLURAL[Kind.SCHEDULE])
        parts.append(_override_changes(key, current.schedule(key), schedule, where, prune))
    return _merged(parts)


def _kind_changes(kind: Kind, current: Directory, desired: Directory, prune: bool) -> Diff:
    have, want = current.table(kind), desired.table(kind)
    changes: list[Change] = []
    for key, resource in want.items():
        change = _upsert(kind, key, have.get(key), resource, desired.where.get((kind, key), PLURAL[kind]))
        changes += [change] if change else []
    unchanged = len(want) - len(changes)
    extra = sorted(key for key in have if key not in want)
    if prune:
        return Diff((*changes, *(_delete(kind, key) for key in extra)), unchanged)
    return Diff(tuple(changes), unchanged, len(extra))


def _merged(parts: Iterable[Diff]) -> Diff:
    changes: list[Change] = []
    unchanged = kept = 0
    for part in parts:
        changes += part.changes
        unchanged, kept = unchanged + part.unchanged, kept + part.kept
    return Diff(tuple(changes), unchanged, kept)


@dataclass(frozen=True)
class Refusal:
    """Why the directory would refuse the plan: the file's field at fault and the domain's reason."""

    path: str
    message: str
    change: Change = field(compare=False)


def check(current: Directory, plan: Diff, now: datetime) -> Refusal | None:
    """Run the plan's commands, in their order, through the domain's `decide` on the current directory."""
    owner = {id(step): change for change in plan.changes for step in change.steps}
    state = state_of(current)
    actor = Actor(id="incidentctl", kind=ActorKind.SERVICE, role="admin")
    for step in plan.steps():
        meta = DirectoryMeta(command_id=uuid5(NAMESPACE_URL, "check"), actor=actor, now=now, correlation_id="check")
        try:
            for event in decide(state, step.command, meta):
                state = evolve(state, event)
        except DirectoryError as error:
            change = owner[id(step)]
            path = (
                f"{change.where}.{error.field}" if error.field and change.action is not Action.DELETE else change.where
            )
            message = str(error).removeprefix(f"{error.field}: ") if error.field else str(error)
            return Refusal(path, message, change)
    return None


def idempotency_key(file_digest: str, command: DirectoryCommand, if_match: str | None, attempt: int = 0) -> str:
    """The same command of the same file on the same revision gets the same key: a re-run after a crash or a lost
    answer is answered from the API's record instead of being done twice.

    The revision (If-Match) is part of it, so a later apply that undoes a change made by hand is a new request,
    not an old answer. A create has no revision: when the API answers one from an earlier apply (the resource was
    deleted since), the check after sending sees it missing and sends it again as `attempt` 1.
    """
    text = "\n".join([file_digest, type(command).__name__, command.model_dump_json(), if_match or "-", str(attempt)])
    return "dir-" + hashlib.sha256(text.encode()).hexdigest()[:40]


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def render(plan: Diff) -> list[str]:
    """The diff for people: `+` created, `~` changed (each field before -> after), `-` deleted."""
    sign = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-"}
    lines: list[str] = []
    for change in plan.changes:
        lines.append(f"{sign[change.action]} {change.kind} {change.key}")
        lines += [f"    {fc.path}: {_shown(fc.before)} -> {_shown(fc.after)}" for fc in change.fields]
    return lines


def summary(plan: Diff) -> str:
    counts: Sequence[tuple[Action, str]] = [
        (Action.CREATE, "to create"),
        (Action.UPDATE, "to change"),
        (Action.DELETE, "to delete"),
    ]
    text = ", ".join(f"{plan.count(action)} {label}" for action, label in counts) if plan.changes else "no changes"
    text += f", {plan.unchanged} unchanged"
    if plan.kept:
        text += f"; {plan.kept} not in the file left as they are (--prune deletes them)"
    return text
