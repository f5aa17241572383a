"""An incident takes a bounded number of notes, each of bounded size, judged by decide before anything is
appended (issue 19, finding 4; docs/decisions/0091)."""

import pytest

from incidents_shared.domain import commands as c
from incidents_shared.domain import events as e
from incidents_shared.domain.decide import decide
from incidents_shared.domain.enums import Role
from incidents_shared.domain.errors import InvalidCommand, InvalidTransition
from incidents_shared.domain.limits import DEFAULT_NOTE_LIMITS, NoteLimits
from tests.unit.builders import LOG, Metas, apply, given

SMALL = NoteLimits(max_notes=3, max_note_bytes=1_000)


def _note(text: str = "checked the pool") -> c.AddNote:
    return c.AddNote(text=text)


def test_notes_up_to_the_limit_are_added_and_the_next_one_is_refused_naming_the_limit() -> None:
    metas = Metas()
    state = given(LOG, metas=metas)
    for _ in range(SMALL.max_notes):
        state_after = apply(state, decide(state, _note(), metas(Role.RESPONDER), limits=SMALL))
        assert state_after is not None
        state = state_after
    assert state.notes_count == 3

    with pytest.raises(InvalidTransition, match=r"has 3 notes, the most it takes is 3 .*max_notes_per_incident"):
        decide(state, _note(), metas(Role.RESPONDER), limits=SMALL)


def test_a_note_larger_than_the_byte_limit_is_refused_however_few_characters_it_has() -> None:
    metas = Metas()
    state = given(LOG, metas=metas)
    fits = "é" * 500  # 1,000 bytes of UTF-8
    [added] = decide(state, _note(fits), metas(), limits=SMALL)
    assert isinstance(added, e.NoteAdded)

    with pytest.raises(InvalidCommand, match=r"text is 1002 bytes of UTF-8; a note takes at most 1000"):
        decide(state, _note(fits + "é"), metas(), limits=SMALL)


def test_other_commands_are_not_counted_against_the_note_limit() -> None:
    metas = Metas()
    state = given(LOG, metas=metas)
    for _ in range(SMALL.max_notes):
        state = apply(state, decide(state, _note(), metas(), limits=SMALL)) or state
    [acknowledged] = decide(state, c.Acknowledge(), metas(), limits=SMALL)
    assert isinstance(acknowledged, e.IncidentAcknowledged)


def test_by_default_the_longest_note_in_any_three_byte_script_fits() -> None:
    metas = Metas()
    state = given(LOG, metas=metas)
    longest = "事" * 20_000  # the most characters a note's text takes, 60,000 bytes
    [added] = decide(state, _note(longest), metas())
    assert isinstance(added, e.NoteAdded)
    assert DEFAULT_NOTE_LIMITS.max_notes == 10_000
