"""One layer's rotation: which turn holds an instant, found arithmetically from the layer's start."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from incidents_shared.domain.oncall.model import Layer
from incidents_shared.domain.oncall.turn import FAR_FUTURE, FAR_PAST, instant_of, parse_turn, to_instant, wall_clock


@dataclass(frozen=True, slots=True)
class Piece:
    """`user` (None: nobody) holds every instant of [lo, hi)."""

    user: str | None
    lo: datetime
    hi: datetime


@dataclass(frozen=True, slots=True)
class Rotation:
    begin: datetime
    wall_start: datetime
    days: int
    elapsed: timedelta
    users: tuple[str, ...]
    zone: ZoneInfo

    @classmethod
    def of(cls, layer: Layer, zone: ZoneInfo) -> "Rotation":
        length = parse_turn(layer.turn)
        begin = instant_of(layer.start, zone)
        wall = wall_clock(begin, zone) if layer.start.tzinfo is not None else layer.start
        return cls(begin, wall, length.days, length.elapsed, tuple(layer.users), zone)

    def turn_start(self, n: int) -> datetime:
        if n == 0:
            return self.begin
        if self.days:
            return to_instant(self.wall_start + timedelta(days=n * self.days), self.zone)
        return self.begin + n * self.elapsed

    def turn_at(self, at: datetime) -> int:
        """The turn holding `at` (not before `begin`): estimated by division, corrected for a DST shift."""
        if self.days:
            n = (wall_clock(at, self.zone) - self.wall_start) // timedelta(days=self.days)
        else:
            n = (at - self.begin) // self.elapsed
        n = max(n, 0)
        while n > 0 and self.turn_start(n) > at:
            n -= 1
        while self.turn_start(n + 1) <= at:
            n += 1
        return n

    def piece(self, at: datetime) -> Piece:
        """Who holds `at`, over the whole run of consecutive turns of that same user."""
        if at < self.begin:
            return Piece(None, FAR_PAST, self.begin)
        n = self.turn_at(at)
        user = self.users[n % len(self.users)]
        if len(set(self.users)) == 1:
            return Piece(user, self.begin, FAR_FUTURE)
        first, last = self._run(n, user)
        return Piece(user, self.turn_start(first), self.turn_start(last + 1))

    def _run(self, n: int, user: str) -> tuple[int, int]:
        count, i = len(self.users), n % len(self.users)
        back = 0
        while back < n and self.users[(i - back - 1) % count] == user:
            back += 1
        ahead = 0
        while self.users[(i + ahead + 1) % count] == user:
            ahead += 1
        return n - back, n + ahead
