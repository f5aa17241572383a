"""The paged long reads' pure parts (docs/decisions/0091): `as_of` folded a chunk at a time gives the state the
whole fold gives, and an audit page verifies against the event before it."""

from uuid import uuid5

from command_api.history_query import audit, fold_until, state_as_of
from command_api.readmodel import StoredEvent
from incidents_shared.domain import events as e
from incidents_shared.domain.state import Incident
from tests.unit.builders import NAMESPACE, at, event
from tests.unit.test_read_side import _stored


def _history() -> list[e.EventBase]:
    logged = event(e.IncidentLogged, event_id=uuid5(NAMESPACE, "logged"), recorded_at=at(0))
    notes = [event(e.NoteAdded, event_id=uuid5(NAMESPACE, f"note-{n}"), recorded_at=at(n)) for n in range(1, 8)]
    return [logged, *notes]


def _chunked(rows: list[StoredEvent], size: int, minute: float) -> Incident | None:
    state, stopped = None, False
    for start in range(0, len(rows), size):
        state, stopped = fold_until(state, rows[start : start + size], at(minute))
        if stopped:
            break
    return state


def test_folding_in_chunks_gives_the_state_the_whole_fold_gives() -> None:
    rows = _stored(_history())
    for minute in (-1, 0, 2.5, 3, 7, 60):
        whole = state_as_of(rows, at(minute))
        for size in (1, 2, 3, 8):
            assert _chunked(rows, size, minute) == whole, (minute, size)


def test_the_fold_says_when_an_event_past_the_time_ended_it() -> None:
    rows = _stored(_history())
    assert fold_until(None, rows[:3], at(60))[1] is False
    state, stopped = fold_until(None, rows, at(3))
    assert stopped and state is not None and state.notes_count == 3


def test_an_audit_page_verifies_against_the_hash_of_the_event_before_it() -> None:
    rows = _stored(_history())
    second_page = rows[4:]
    assert audit(second_page, rows[3].hash)["verified"] is True
    checked = audit(second_page, rows[2].hash)
    assert (checked["verified"], checked["broken_versions"]) == (False, [5])
