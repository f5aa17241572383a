"""The timer loop: fire the due timers of the owned partitions, mark them fired only after the log acked."""

import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from typing import Protocol
from uuid import UUID

import structlog

from escalator import metrics, store, storms
from escalator.clock import Clock
from escalator.faults import crash_now
from escalator.ownership import Ownership
from escalator.ports import PeopleNow
from incidents_shared.appender import LogUnavailable
from incidents_shared.db import DATABASE_ERRORS, Conn, Pool
from incidents_shared.domain.escalation.book import PolicyBook
from incidents_shared.domain.escalation.timers import Timer, TimerKind, build_event
from incidents_shared.domain.events import EventBase, event_type
from incidents_shared.domain.state import Incident
from incidents_shared.supervise import pause

log = structlog.get_logger(__name__)
BATCH = 500
PENDING_GAUGE_EVERY_S = 10.0  # counting the pending timers scans all of them: ~50 ms per 200,000 in PostgreSQL


class Every:
    """True at most once per `seconds` of monotonic time; the first call is True."""

    def __init__(self, seconds: float, now: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self.now, self.last = seconds, now, -float("inf")

    def __call__(self) -> bool:
        if self.now() - self.last < self.seconds:
            return False
        self.last = self.now()
        return True


class EventLog(Protocol):
    """Where the escalator appends its events (KafkaAppender in production)."""

    async def append(self, events: list[EventBase]) -> None:
        """Append events of ONE incident in order, atomically; raise LogUnavailable unless all were acknowledged."""


class TimerLoop:
    def __init__(
        self,
        pool: Pool,
        events: EventLog,
        book: PolicyBook,
        people: PeopleNow,
        clock: Clock,
        owned: Ownership,
        *,
        tick_s: float,
        batch: int = BATCH,
        crash_after_emit: str | None = None,
    ) -> None:
        self.pool, self.events, self.book, self.clock, self.owned = pool, events, book, clock, owned
        self.people = people
        self.tick_s, self.batch = tick_s, batch
        self.crash_after_emit = crash_after_emit
        self.count_pending = Every(PENDING_GAUGE_EVERY_S)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            fired = 0
            try:
                fired = await self.tick()
            except (*DATABASE_ERRORS, LogUnavailable) as exc:
                log.warning("timer_tick_failed_will_retry", error=repr(exc))
            if fired < self.batch:  # a full batch: more may be due already, so fire on without pausing
                await pause(stop, self.tick_s)

    async def tick(self) -> int:
        """Fire what is due now, at most one batch; returns how many timers fired.

        The batch's rows stay locked (`FOR UPDATE SKIP LOCKED`) from the claim to their marking, in one
        transaction: another escalator that believes it owns these partitions (a rebalance, a paused zombie)
        skips them, so a timer is never fired by two processes at once."""
        partitions = list(self.owned.partitions)
        if not partitions:
            return 0
        now = self.clock.now()
        async with self.pool.acquire() as conn, conn.transaction():
            timers = await store.claim_due_timers(conn, partitions, now, self.batch)
            if self.count_pending():
                metrics.TIMERS_PENDING.set(await store.pending_timer_count(conn, partitions))
            metrics.TIMERS_DUE.set(len(timers))
            states = await store.states_of(conn, {t.incident_id for t in timers}) if timers else {}
            ready = [t for t in timers if t.incident_id in states]
            if not ready:
                return 0
            return await self._fire(conn, ready, states, now)

    async def _fire(self, conn: Conn, ready: list[Timer], states: dict[UUID, Incident], now: datetime) -> int:
        ready, emitted = await self._events(conn, ready, states, now)
        events = [event for event in emitted.values() if event is not None]
        failed = await self._append_per_incident(events)
        acked = self.clock.now()
        self._maybe_crash(events)
        ready = [t for t in ready if t.incident_id not in failed]  # the others are tried again on the next tick
        await store.mark_fired(conn, [t.timer_id for t in ready], acked)
        for timer in ready:
            metrics.TIMERS_FIRED.labels(timer.kind.value).inc()
            metrics.TIMER_LATENESS.observe(max((acked - timer.due_at).total_seconds(), 0.0))
            late_s = round((acked - timer.due_at).total_seconds(), 3)
            log.info("timer_fired", incident_id=str(timer.incident_id), kind=timer.kind.value, step=timer.step,
                     due_at=timer.due_at.isoformat(), late_s=late_s)  # fmt: skip
        if failed:
            log.warning("timer_appends_failed", incidents=len(failed), fired=len(ready))
        return len(ready)

    async def _events(
        self, conn: Conn, ready: list[Timer], states: dict[UUID, Incident], now: datetime
    ) -> tuple[list[Timer], dict[UUID, EventBase | None]]:
        """The timers that fire now and their events (by timer id; None: fires without one): pages admitted or
        held (no paging storms, escalator.storms), digests built from their holds (one with nothing left to list
        fires without an event; one whose pages the fold has not judged yet waits). A timer whose event cannot be
        built is parked with the error, so it cannot stop the others on every tick."""
        people = self.people()
        ready = await storms.admit(conn, ready, states, self.book, now)
        digests = await storms.digests(conn, ready, people, now)
        ready = [t for t in ready if t.timer_id not in digests.waiting]
        emitted: dict[UUID, EventBase | None] = {}
        for timer in ready:
            if timer.kind is TimerKind.DIGEST:
                emitted[timer.timer_id] = digests.built.get(timer.timer_id)
                continue
            try:
                emitted[timer.timer_id] = build_event(timer, states[timer.incident_id], self.book, people, now)
            except Exception as exc:  # noqa: BLE001 - any bug in building one event must not stop every timer
                await self._park(conn, timer, exc)
        return [t for t in ready if t.timer_id in emitted], emitted

    async def _park(self, conn: Conn, timer: Timer, exc: Exception) -> None:
        log.error("timer_parked", timer_id=str(timer.timer_id), incident_id=str(timer.incident_id),
                  kind=timer.kind.value, error=repr(exc))  # fmt: skip
        metrics.TIMERS_PARKED.inc()
        await store.park_timer(conn, timer.timer_id, repr(exc))

    async def _append_per_incident(self, emitted: list[EventBase]) -> set[UUID]:
        """One append per incident (an append is one record batch on that incident's partition), all at once;
        the incidents whose append failed (their timers are not marked fired: the others are)."""
        groups: dict[UUID, list[EventBase]] = {}
        for event in emitted:
            groups.setdefault(event.incident_id, []).append(event)
        results = await asyncio.gather(
            *(self.events.append(group) for group in groups.values()), return_exceptions=True
        )
        failed: set[UUID] = set()
        for incident_id, result in zip(groups, results, strict=True):
            if isinstance(result, LogUnavailable):
                failed.add(incident_id)
            elif isinstance(result, BaseException):
                raise result
        return failed

    def _maybe_crash(self, emitted: list[EventBase]) -> None:
        """Fault injection (INCIDENTS_ESCALATOR_CRASH_AFTER_EMIT): die like kill -9 after the ack, before the commit."""
        hit = [ev for ev in emitted if event_type(type(ev)) == self.crash_after_emit]
        if hit:
            crash_now("crash_after_emit", event_id=str(hit[0].event_id), incident_id=str(hit[0].incident_id))
