"""What one incident may take: how many notes, how large each (issue 19, finding 4; docs/decisions/0091).

Judged by `decide` before a note is appended, so the API refuses it with a problem naming the limit. Readers do
not re-judge it: whatever note reaches the log is stored as its own row, which no count makes too large.
"""

from dataclasses import dataclass

from incidents_shared.domain import commands as c
from incidents_shared.domain.errors import InvalidCommand, InvalidTransition
from incidents_shared.domain.state import Incident


@dataclass(frozen=True)
class NoteLimits:
    """Per incident: at most `max_notes` notes, each at most `max_note_bytes` of UTF-8 text."""

    max_notes: int = 10_000  # INCIDENTS_MAX_NOTES_PER_INCIDENT
    max_note_bytes: int = 65_536  # INCIDENTS_MAX_NOTE_BYTES: 20,000 characters of any script but emoji


DEFAULT_NOTE_LIMITS = NoteLimits()


def check_note_limits(state: Incident | None, command: c.Command, limits: NoteLimits) -> None:
    """Raise InvalidCommand for a note too large, InvalidTransition for an incident that has all its notes."""
    if not isinstance(command, c.AddNote):
        return
    size = len(command.text.encode())
    if size > limits.max_note_bytes:
        raise InvalidCommand(
            f"text is {size} bytes of UTF-8; a note takes at most {limits.max_note_bytes}"
            " (limit max_note_bytes, INCIDENTS_MAX_NOTE_BYTES)"
        )
    if state is not None and state.notes_count >= limits.max_notes:
        raise InvalidTransition(
            f"the incident has {state.notes_count} notes, the most it takes is {limits.max_notes}"
            " (limit max_notes_per_incident, INCIDENTS_MAX_NOTES_PER_INCIDENT)"
        )
