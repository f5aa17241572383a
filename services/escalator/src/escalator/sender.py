"""Delivering the outbox: concurrent, retried with exponential backoff and jitter, each outcome recorded twice.

A delivery's destination is resolved when it is sent (escalator.destinations: the policy file in force, the
directory now) and handed to the channel of its kind (escalator.channels). Once the receiver has accepted it, that
is recorded in PostgreSQL first ('delivered'), then `incident.notification_sent` is appended with a deterministic
id and the row marked 'sent'; a failure for good likewise ('abandoned', then `incident.notification_failed`,
'failed'). So a Kafka outage after the receiver's answer never sends the message again: a later tick appends the
outcome it recorded (decision 0079). Only a crash between the receiver's answer and that first record means one
more attempt, with the same Idempotency-Key.
"""

import asyncio
import random
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime, timedelta
from uuid import UUID, uuid5

import structlog

from escalator import metrics, store
from escalator.channels import ChannelSender, SendResult
from escalator.claims import Claims
from escalator.clock import Clock
from escalator.destinations import Destinations, Unresolved
from escalator.faults import crash_now
from escalator.firing import EventLog
from escalator.ownership import Ownership
from incidents_shared.appender import LogUnavailable
from incidents_shared.db import DATABASE_ERRORS, Pool
from incidents_shared.domain import events as e
from incidents_shared.domain import payloads as p
from incidents_shared.domain.escalation.policy import ChannelKind
from incidents_shared.domain.escalation.recipients import Delivery
from incidents_shared.domain.escalation.timers import ACTOR
from incidents_shared.supervise import pause

log = structlog.get_logger(__name__)


class Sender:
    def __init__(
        self,
        pool: Pool,
        events: EventLog,
        channels: Mapping[ChannelKind, ChannelSender],
        destinations: Destinations,
        clock: Clock,
        owned: Ownership,
        *,
        tick_s: float,
        max_attempts: int,
        backoff_s: float,
        concurrency: int,
        rng: random.Random | None = None,
        crash_after_delivery: bool = False,
    ) -> None:
        self.pool, self.events, self.clock, self.owned = pool, events, clock, owned
        self.channels, self.destinations = channels, destinations
        self.tick_s, self.max_attempts = tick_s, max_attempts
        self.backoff_s, self.concurrency = backoff_s, concurrency
        self.rng = rng or random.SystemRandom()
        self.in_flight: dict[UUID, asyncio.Task[None]] = {}
        self.claims = Claims(pool)  # a row is worked on by one escalator at a time (decision 0096)
        self.crash_after_delivery = crash_after_delivery  # fault injection for tests only

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    await self.tick()
                except DATABASE_ERRORS as exc:
                    log.warning("outbox_tick_failed_will_retry", error=repr(exc))
                await pause(stop, self.tick_s)
        finally:
            await asyncio.gather(*self.in_flight.values(), return_exceptions=True)
            await self.claims.close()

    async def tick(self) -> None:
        """Start a task for each outcome still to append and each due delivery not already in flight; never wait
        for them here."""
        room, partitions = self.concurrency - len(self.in_flight), list(self.owned.partitions)
        if room <= 0 or not partitions:
            return
        async with self.pool.acquire() as conn:
            settled = await store.outcomes_to_append(conn, partitions, list(self.in_flight), room)
            room -= len(settled)
            due = await store.due_deliveries(conn, partitions, self.clock.now(), list(self.in_flight), room)
        mine = await self.claims.take([s.delivery.delivery_id for s in settled], ["delivered", "abandoned"])
        mine |= await self.claims.take([d.delivery_id for d, _ in due], ["pending"])
        for s in settled:
            if s.delivery.delivery_id in mine:
                self._start(s.delivery.delivery_id, self.append_outcome(s.delivery, s.attempts, s.error, s.at))
        for delivery, attempts in due:
            if delivery.delivery_id in mine:
                self._start(delivery.delivery_id, self.deliver(delivery, attempts + 1))

    def _start(self, key: UUID, work: Coroutine[None, None, None]) -> None:
        task = asyncio.create_task(self._holding(key, work))
        self.in_flight[key] = task
        task.add_done_callback(self._finished(key))

    async def _holding(self, key: UUID, work: Coroutine[None, None, None]) -> None:
        """Run `work` on a claimed row, then give the claim back."""
        try:
            await work
        finally:
            await self.claims.release([key])

    def _finished(self, key: UUID) -> Callable[["asyncio.Task[None]"], None]:
        def forget(_: "asyncio.Task[None]") -> None:
            self.in_flight.pop(key, None)

        return forget

    async def deliver(self, delivery: Delivery, attempt: int) -> None:
        result = await self.attempt(delivery)
        if result.ok and self.crash_after_delivery:
            crash_now(
                "crash_after_delivery", delivery_id=str(delivery.delivery_id), incident_id=str(delivery.incident_id)
            )
        metrics.NOTIFICATIONS.labels(_outcome(delivery, result)).inc()
        now = self.clock.now()
        try:
            async with self.pool.acquire() as conn:
                if not (result.ok or result.permanent or attempt >= self.max_attempts):
                    await store.record_retry(conn, delivery.delivery_id, attempt, now + self.backoff(attempt),
                                             result.error or "")  # fmt: skip
                    return
                await store.record_outcome(conn, delivery.delivery_id, attempt, now, result.error)
        except DATABASE_ERRORS as exc:
            # Nothing recorded: left pending, the next tick tries again with the same Idempotency-Key.
            log.warning("notification_not_recorded_will_retry", delivery_id=str(delivery.delivery_id), error=repr(exc))
            return
        await self.append_outcome(delivery, attempt, result.error, now)

    async def attempt(self, delivery: Delivery) -> SendResult:
        """One try: undeliverable, unresolved and refused are final; the channel says about the rest."""
        if delivery.undeliverable:  # no channel can carry it: recorded failed at once, with why, never attempted
            return SendResult(delivery.undeliverable, permanent=True)
        channel = self.channels.get(delivery.kind) if delivery.kind is not None else None
        if channel is None:
            return SendResult(f"no sender for {delivery.kind} deliveries in this escalator", permanent=True)
        destination = self.destinations.resolve(delivery)
        if isinstance(destination, Unresolved):
            return SendResult(destination.why, permanent=True)
        return await channel.send(delivery, destination)

    async def append_outcome(self, delivery: Delivery, attempt: int, error: str | None, at: datetime) -> None:
        """Append the recorded outcome, then mark it appended; left as it is (for a later tick) when either fails."""
        try:
            await self.events.append([notification_event(delivery, attempt, error, at)])
            async with self.pool.acquire() as conn:
                await store.mark_appended(conn, delivery.delivery_id)
        except (*DATABASE_ERRORS, LogUnavailable) as exc:
            log.warning("notification_outcome_not_appended_will_retry", delivery_id=str(delivery.delivery_id),
                        outcome="sent" if error is None else "failed", error=repr(exc))  # fmt: skip
            return
        log.info(
            "notification_recorded",
            outcome="sent" if error is None else "failed",
            incident_id=str(delivery.incident_id),
            channel=delivery.channel,
            target=delivery.target,
            attempt=attempt,
            error=error,
        )

    def backoff(self, attempt: int) -> timedelta:
        """Exponential backoff with jitter: base * 2^(attempt-1), scaled by a random factor in [0.5, 1]."""
        return timedelta(seconds=self.backoff_s * 2 ** (attempt - 1) * self.rng.uniform(0.5, 1.0))


def _outcome(delivery: Delivery, result: SendResult) -> str:
    return "sent" if result.ok else "undeliverable" if delivery.undeliverable else "error"


def notification_event(delivery: Delivery, attempt: int, error: str | None, now: datetime) -> e.EventBase:
    """The log's record of a delivery's outcome; its id depends only on the delivery and the outcome."""
    data = p.NotificationData(
        channel=delivery.channel,
        target=delivery.target or delivery.channel,
        attempt=attempt,
        about_event_id=delivery.about_event_id,
        error=error,
    )
    envelope = {
        "incident_id": delivery.incident_id,
        "occurred_at": now,
        "recorded_at": now,
        "actor": ACTOR,
        "correlation_id": f"notification:{delivery.delivery_id}",
        "causation_id": str(delivery.about_event_id),
    }
    if error is None:
        return e.NotificationSent(event_id=uuid5(delivery.delivery_id, "sent"), **envelope, data=data)
    return e.NotificationFailed(event_id=uuid5(delivery.delivery_id, "failed"), **envelope, data=data)
