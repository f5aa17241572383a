"""The directory topic folded in log order, each record judged at its place (docs/decisions/0069).

`decide` judged a command on the directory its API instance had folded; two instances can still race, so every
reader judges each record again on the state folded so far (`rules.violation`, as `fold.judge` does for
incidents). A record that no longer fits is rejected and not applied; a record that does not decode is skipped
and logged. Every reader reaches the same verdicts, since they depend only on the log. No I/O here.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog

from incidents_shared.domain.directory import AnyDirectoryEvent, DirectoryState, decode, evolve, fold
from incidents_shared.domain.directory.errors import DirectoryError
from incidents_shared.domain.directory.events import subject
from incidents_shared.domain.directory.rules import violation
from incidents_shared.domain.errors import UndecodableEvent

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class DirectoryVerdict:
    """What the log made of one event: accepted (`error` None) or rejected with the rule it broke.

    `revision` and `resource`: the resource's revision and body right after the verdict (None once deleted), so an
    answer given later (a retry's) shows the resource as this change left it.
    """

    event: AnyDirectoryEvent
    offset: int
    error: DirectoryError | None
    revision: int
    resource: Any = None

    @property
    def accepted(self) -> bool:
        return self.error is None

    @property
    def event_id(self) -> UUID:
        return self.event.event_id


@dataclass
class DirectoryFold:
    """The directory after every record up to `next_offset`, with the verdict of each event id."""

    state: DirectoryState = field(default_factory=DirectoryState)
    next_offset: int = 0
    verdicts: dict[UUID, DirectoryVerdict] = field(default_factory=dict)
    accepted: list[tuple[int, AnyDirectoryEvent]] = field(default_factory=list)

    def apply(self, offset: int, value: bytes) -> DirectoryVerdict | None:
        """Judge and (if accepted) apply the record at `offset`; None for a record that does not decode.

        A second record of an event id already judged (a retried append) changes nothing: the first verdict holds.
        """
        self.next_offset = offset + 1
        try:
            event = decode(value)
        except UndecodableEvent as exc:
            log.warning("directory_record_undecodable", offset=offset, error=str(exc))
            return None
        if (earlier := self.verdicts.get(event.event_id)) is not None:
            log.info("directory_record_duplicate", offset=offset, event_id=str(event.event_id), first=earlier.offset)
            return earlier
        return self._judge(offset, event)

    def _judge(self, offset: int, event: AnyDirectoryEvent) -> DirectoryVerdict:
        error = violation(self.state, event)
        if error is None:
            self.state = evolve(self.state, event)
            self.accepted.append((offset, event))
        else:
            log.warning("directory_event_rejected", offset=offset, event_id=str(event.event_id), reason=str(error))
        entry = self.state.table(event.kind).get(key := subject(event))
        resource = entry.resource if entry is not None else None
        verdict = DirectoryVerdict(event, offset, error, self.state.revision(event.kind, key), resource)
        self.verdicts[event.event_id] = verdict
        return verdict

    def as_of(self, at: datetime) -> DirectoryState:
        """The directory as it stood at `at`: the accepted events of the log's prefix that had happened by then."""
        return fold((event for _, event in self.accepted), as_of=at)
