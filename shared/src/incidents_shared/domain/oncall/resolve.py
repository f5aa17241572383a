"""Who is on call at an instant, and the shifts and gaps of a period: overrides over layers, later over earlier."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from incidents_shared.domain.oncall.model import Layer, Schedule
from incidents_shared.domain.oncall.rotation import Piece, Rotation
from incidents_shared.domain.oncall.turn import FAR_FUTURE, FAR_PAST
from incidents_shared.domain.oncall.windows import window_at
from incidents_shared.domain.timeutil import to_utc

OVERRIDE, GAP = "override", "gap"
HORIZON = timedelta(days=400)
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class OnCall:
    """`user` (None in a gap) from `source` (a layer's name, "override" or "gap") over [since, until).

    None for `since` or `until`: the answer does not change within the horizon looked at, that way.
    """

    user: str | None
    source: str
    since: datetime | None
    until: datetime | None


@dataclass(frozen=True, slots=True)
class Shift:
    user: str | None
    source: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class _Answer:
    user: str | None
    source: str
    lo: datetime
    hi: datetime

    def same(self, other: "_Answer") -> bool:
        return self.user == other.user and self.source == other.source


def _layer_piece(layer: Layer, zone: ZoneInfo, at: datetime) -> Piece:
    turn = Rotation.of(layer, zone).piece(at)
    if turn.user is None or not layer.restrictions:
        return turn
    window = window_at(layer.restrictions, zone, at)
    if not window.inside:
        return Piece(None, window.lo, window.hi)
    return Piece(turn.user, max(turn.lo, window.lo), min(turn.hi, window.hi))


def _answer(schedule: Schedule, zone: ZoneInfo, at: datetime) -> _Answer:
    """The answer at `at` over an interval around it in which nothing that decides it changes."""
    lo, hi = FAR_PAST, FAR_FUTURE
    for override in reversed(schedule.overrides):
        if at < override.start:
            hi = min(hi, override.start)
        elif at >= override.end:
            lo = max(lo, override.end)
        else:
            return _Answer(override.user, OVERRIDE, max(lo, override.start), min(hi, override.end))
    for layer in reversed(schedule.layers):
        piece = _layer_piece(layer, zone, at)
        lo, hi = max(lo, piece.lo), min(hi, piece.hi)
        if piece.user is not None:
            return _Answer(piece.user, layer.name, lo, hi)
    return _Answer(None, GAP, lo, hi)


def _since(schedule: Schedule, zone: ZoneInfo, answer: _Answer, limit: datetime) -> datetime | None:
    lo = answer.lo
    while lo > limit:
        before = _answer(schedule, zone, lo - _TICK)
        if not before.same(answer):
            return lo
        lo = before.lo
    return None


def _until(schedule: Schedule, zone: ZoneInfo, answer: _Answer, limit: datetime) -> datetime | None:
    hi = answer.hi
    while hi < limit:
        after = _answer(schedule, zone, hi)
        if not after.same(answer):
            return hi
        hi = after.hi
    return None


def oncall_at(schedule: Schedule, at: datetime, horizon: timedelta = HORIZON) -> OnCall:
    """Who is on call at `at` (aware), and the maximal interval around it with that same answer.

    `since` and `until` are looked for within `horizon` either way; None where the answer holds beyond it.
    """
    at, zone = to_utc(at), schedule.zone
    answer = _answer(schedule, zone, at)
    past = at - horizon if at - FAR_PAST > horizon else FAR_PAST
    future = at + horizon if FAR_FUTURE - at > horizon else FAR_FUTURE
    since, until = _since(schedule, zone, answer, past), _until(schedule, zone, answer, future)
    return OnCall(answer.user, answer.source, since, until)


def shifts(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    """[start, end) cut into shifts (gaps included, user None), each a maximal run of one answer, clipped."""
    at, end, zone = to_utc(start), to_utc(end), schedule.zone
    found: list[Shift] = []
    while at < end:
        answer = _answer(schedule, zone, at)
        stop = min(answer.hi, end)
        if found and (found[-1].user, found[-1].source) == (answer.user, answer.source):
            found[-1] = Shift(answer.user, answer.source, found[-1].start, stop)
        else:
            found.append(Shift(answer.user, answer.source, at, stop))
        at = stop
    return found


def gaps(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    """The periods of [start, end) with nobody on call."""
    return [shift for shift in shifts(schedule, start, end) if shift.user is None]
