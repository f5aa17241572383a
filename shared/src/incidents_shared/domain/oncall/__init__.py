"""Who is on call at T: schedules of layered rotations and overrides, resolved purely and exactly across DST.

Semantics (docs/decisions/0067-oncall-resolver.md):

- A schedule has a time zone (IANA), layers and overrides. All wall-clock times are in that zone.
- A layer's turns start at `start` (naive: local wall-clock time in the schedule's zone; or with an offset) and
  follow each other every `turn`. Day- and week-based turns (P1D, P1W, P2W) hand over at the same *local
  wall-clock time* every time, across DST changes (09:00 Europe/Amsterdam stays 09:00 local on 2027-03-28 and
  2027-10-31, so those turns last 23 and 25 hours); hour-based turns (PT8H, PT12H) are exact elapsed durations.
  A turn mixing days and hours is refused. User i of the rotation holds turn n where i = n mod len(users).
  Before `start` the layer has nobody.
- Restrictions (daily `start`-`end`, or weekly `start_day start`-`end_day end`, local wall-clock, may cross
  midnight or the week's end) limit when a layer is on call: outside the union of its windows the layer is empty.
  The turns run on regardless: a restriction does not delay a hand-over.
- Later layers win over earlier ones where they have someone; an override wins over every layer (a later override
  over an earlier one); a time with nobody is a gap (user None, source "gap").
- A local time that does not exist (spring-forward gap) moves forward by the gap (02:30 -> 03:30); an ambiguous
  one (fall-back fold) is its first occurrence. This is RFC 5545's reading and zoneinfo's fold=0; a restriction
  window emptied by a gap is empty that day.
- `oncall_at` gives the answer at an instant with the maximal [since, until) around it with the same answer
  (user and source), looked for within a horizon (400 days by default; None beyond). `shifts` covers a period
  contiguously, merging adjacent equal answers, gaps included; `gaps` lists only those; `to_ical` writes the
  shifts (not the gaps) as RFC 5545 events.
- Each lookup is arithmetic: the turn holding an instant is found by division from `start` and corrected for a
  DST shift, never by walking the turns from the beginning. Pure: no I/O, no clock; times are passed in.
"""

from incidents_shared.domain.oncall.ical import shift_uid, to_ical
from incidents_shared.domain.oncall.model import Daily, Layer, Override, Restriction, Schedule, Weekly
from incidents_shared.domain.oncall.resolve import GAP, HORIZON, OVERRIDE, OnCall, Shift, gaps, oncall_at, shifts
from incidents_shared.domain.oncall.turn import TurnLength, parse_turn, to_instant

__all__ = [
    "GAP",
    "HORIZON",
    "OVERRIDE",
    "Daily",
    "Layer",
    "OnCall",
    "Override",
    "Restriction",
    "Schedule",
    "Shift",
    "TurnLength",
    "Weekly",
    "gaps",
    "oncall_at",
    "parse_turn",
    "shift_uid",
    "shifts",
    "to_ical",
    "to_instant",
]
