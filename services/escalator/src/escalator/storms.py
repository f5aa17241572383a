"""No paging storms, the escalator's PostgreSQL side (migration 0014, docs/decisions/0075).

When a page's timer fires, its person's window is counted with one atomic upsert that every escalator instance
shares, whichever partitions it owns, and the decision is kept per page (a retried timer and the page's later
contact methods find it). When a digest's timer fires, it lists the holds the fold recorded; it waits (a tick at
a time, at most SETTLE) while a page decided into it has not been judged by the fold yet, so that a page held at
the last moment of the window is not left out. What the rows mean is decided in
`incidents_shared.domain.escalation.storm`.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

import structlog

from escalator import store
from incidents_shared.db import Conn
from incidents_shared.domain.enums import ContactKind
from incidents_shared.domain.escalation import storm
from incidents_shared.domain.escalation.book import PolicyBook
from incidents_shared.domain.escalation.people import People
from incidents_shared.domain.escalation.policy import Storm
from incidents_shared.domain.escalation.timers import Timer, TimerKind
from incidents_shared.domain.events import IncidentPaged
from incidents_shared.domain.state import Incident

log = structlog.get_logger(__name__)
SETTLE = timedelta(seconds=60)  # the longest a digest waits for a page decided into it to reach the fold

# storm.next_window in one statement: a new window once the last has run out, else one more page in it.
_COUNT = (
    "INSERT INTO escalator_storms AS s (user_id, window_start, pages) VALUES ($1, $2::timestamptz, 1)"
    " ON CONFLICT (user_id) DO UPDATE SET"
    " window_start = CASE WHEN s.window_start + $3::interval <= $2::timestamptz THEN $2::timestamptz"
    " ELSE s.window_start END,"
    " pages = CASE WHEN s.window_start + $3::interval <= $2::timestamptz THEN 1 ELSE s.pages + 1 END,"
    " updated_at = now()"
    " RETURNING window_start, pages"
)
# The page's decision; one decided before (by a zombie instance) wins, and is what RETURNING gives back.
_DECIDE = (
    "INSERT INTO escalator_storm_pages (page_id, user_id, event_id, digest_id, digest_due_at)"
    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (page_id) DO UPDATE SET page_id = EXCLUDED.page_id"
    " RETURNING digest_id, digest_due_at"
)
_UNSETTLED = (
    "SELECT DISTINCT d.digest_id FROM escalator_storm_pages d WHERE d.digest_id = ANY($1::uuid[])"
    " AND d.decided_at > now() - $2::interval"
    " AND NOT EXISTS (SELECT 1 FROM escalator_seen s WHERE s.event_id = d.event_id)"
)
_HOLDS = (
    "SELECT digest_id, user_id, incident_id, page_id, event_id, held_at, contact_kind, contact_address"
    " FROM escalator_storm_holds WHERE digest_id = ANY($1::uuid[]) ORDER BY held_at, seq"
)


async def admit(conn: Conn, timers: list[Timer], states: dict[UUID, Incident], book: PolicyBook,
                now: datetime) -> list[Timer]:  # fmt: skip
    """The due timers as they fire `now`: each page of a policy step counted for its person, held beyond the
    limit (its `incident.paged` then names its digest), in firing order."""
    counted = {t.timer_id for t in timers if storm.is_counted(t, states[t.incident_id], _rule(book, states, t))}
    if not counted:
        return timers
    pages = [storm.page_of(t)[1] for t in timers if t.timer_id in counted]
    rows = await conn.fetch(
        "SELECT page_id, digest_id, digest_due_at FROM escalator_storm_pages WHERE page_id = ANY($1::uuid[])", pages
    )
    decided = {r["page_id"]: storm.Decision(r["digest_id"], r["digest_due_at"]) for r in rows}
    async with conn.transaction():
        for timer in (t for t in timers if t.timer_id in counted):
            _, page, index = storm.page_of(timer)
            if page not in decided and index == 0:
                decided[page] = await _decide(conn, timer, _rule(book, states, timer), now)
    return [storm.held(t, decided.get(storm.page_of(t)[1])) if t.timer_id in counted else t for t in timers]


def _rule(book: PolicyBook, states: dict[UUID, Incident], timer: Timer) -> Storm | None:
    return book.for_incident(states[timer.incident_id]).storm


async def _decide(conn: Conn, timer: Timer, rule: Storm | None, now: datetime) -> storm.Decision:
    assert rule is not None
    user, page, _ = storm.page_of(timer)
    counted = await conn.fetchrow(_COUNT, user, now, rule.window)
    assert counted is not None
    window = storm.Window(counted["window_start"], int(counted["pages"]))
    decision = storm.decide(user, window, rule)
    kept = await conn.fetchrow(_DECIDE, page, user, timer.timer_id, decision.digest_id, decision.digest_due_at)
    assert kept is not None
    if kept["digest_id"] is not None:
        log.info("page_held", incident_id=str(timer.incident_id), user=user, page_id=str(page),
                 digest_id=str(kept["digest_id"]), pages_in_window=window.pages)  # fmt: skip
    return storm.Decision(kept["digest_id"], kept["digest_due_at"])


@dataclass
class Digests:
    """The digest pages due now: built (None: nothing left to list) or waiting for the fold to catch up."""

    built: dict[UUID, IncidentPaged | None] = field(default_factory=dict)
    waiting: set[UUID] = field(default_factory=set)


async def digests(conn: Conn, timers: list[Timer], people: People, now: datetime) -> Digests:
    """Build the digest of each due DIGEST timer from the holds the fold recorded."""
    due = {t.timer_id: UUID(str(t.payload["digest_id"])) for t in timers if t.kind is TimerKind.DIGEST}
    if not due:
        return Digests()
    ids = list(set(due.values()))
    unsettled = {r["digest_id"] for r in await conn.fetch(_UNSETTLED, ids, SETTLE)}
    holds: dict[UUID, list[storm.Hold]] = {}
    for r in await conn.fetch(_HOLDS, ids):
        hold = storm.Hold(r["digest_id"], r["user_id"], r["incident_id"], r["page_id"], r["event_id"],
                          r["held_at"], ContactKind(r["contact_kind"]), r["contact_address"])  # fmt: skip
        holds.setdefault(hold.digest_id, []).append(hold)
    states = await store.states_of(conn, {h.incident_id for listed in holds.values() for h in listed})
    out = Digests(waiting={timer for timer, digest in due.items() if digest in unsettled})
    for timer in (t for t in timers if t.timer_id in due and t.timer_id not in out.waiting):
        listed = holds.get(due[timer.timer_id], [])
        out.built[timer.timer_id] = built = storm.digest_event(timer, listed, states, people, now)
        log.info("digest_due", digest_id=str(due[timer.timer_id]), holds=len(listed),
                 listed=len(built.data.digest.incidents) if built and built.data.digest else 0)  # fmt: skip
    for waiting in out.waiting:
        log.info("digest_waits_for_the_fold", digest_id=str(due[waiting]))
    return out
