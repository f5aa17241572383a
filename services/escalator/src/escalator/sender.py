"""Delivering the outbox: concurrent, each with its own timeout, retried with exponential backoff and jitter.

Every outcome is appended to the log as `incident.notification_sent` / `incident.notification_failed` with a
deterministic id, then recorded in the outbox. A crash between the receiver's answer and that record means one
more attempt with the same Idempotency-Key, never a different one.
"""

import asyncio
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID, uuid5

import httpx
import structlog

from escalator import metrics, store
from escalator.clock import Clock
from escalator.faults import crash_now
from escalator.firing import EventLog
from escalator.ownership import Ownership
from incidents_shared.appender import LogUnavailable
from incidents_shared.db import DATABASE_ERRORS, Pool
from incidents_shared.domain import events as e
from incidents_shared.domain import payloads as p
from incidents_shared.domain.escalation.recipients import Delivery
from incidents_shared.domain.escalation.timers import ACTOR
from incidents_shared.supervise import pause

log = structlog.get_logger(__name__)


class Sender:
    def __init__(
        self,
        pool: Pool,
        events: EventLog,
        http: httpx.AsyncClient,
        clock: Clock,
        owned: Ownership,
        *,
        tick_s: float,
        timeout_s: float,
        max_attempts: int,
        backoff_s: float,
        concurrency: int,
        rng: random.Random | None = None,
        crash_after_delivery: bool = False,
    ) -> None:
        self.pool, self.events, self.http, self.clock, self.owned = pool, events, http, clock, owned
        self.tick_s, self.timeout_s, self.max_attempts = tick_s, timeout_s, max_attempts
        self.backoff_s, self.concurrency = backoff_s, concurrency
        self.rng = rng or random.SystemRandom()
        self.in_flight: dict[UUID, asyncio.Task[None]] = {}
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

    async def tick(self) -> None:
        """Start a delivery task for each due outbox row not already in flight; never wait for them here."""
        room, partitions = self.concurrency - len(self.in_flight), list(self.owned.partitions)
        if room <= 0 or not partitions:
            return
        async with self.pool.acquire() as conn:
            due = await store.due_deliveries(conn, partitions, self.clock.now(), list(self.in_flight), room)
        for delivery, attempts in due:
            task = asyncio.create_task(self.deliver(delivery, attempts + 1))
            self.in_flight[delivery.delivery_id] = task
            task.add_done_callback(self._finished(delivery.delivery_id))

    def _finished(self, key: UUID) -> Callable[["asyncio.Task[None]"], None]:
        def forget(_: "asyncio.Task[None]") -> None:
            self.in_flight.pop(key, None)

        return forget

    async def deliver(self, delivery: Delivery, attempt: int) -> None:
        # No channel can carry an undeliverable one: recorded failed at once, with why, never attempted.
        error = delivery.undeliverable or await self._post(delivery)
        if error is None and self.crash_after_delivery:
            crash_now(
                "crash_after_delivery", delivery_id=str(delivery.delivery_id), incident_id=str(delivery.incident_id)
            )
        outcome = "sent" if error is None else "undeliverable" if delivery.undeliverable else "error"
        metrics.NOTIFICATIONS.labels(outcome).inc()
        now = self.clock.now()
        try:
            if error is None or attempt >= self.max_attempts or delivery.undeliverable:
                await self.events.append([notification_event(delivery, attempt, error, now)])
                status = "sent" if error is None else "failed"
                await self._record(delivery.delivery_id, status, attempt, now, error)
                log.info(
                    "notification_recorded",
                    outcome=status,
                    incident_id=str(delivery.incident_id),
                    channel=delivery.channel,
                    target=delivery.target,
                    attempt=attempt,
                    error=error,
                )
            else:
                await self._record(delivery.delivery_id, "pending", attempt, now + self.backoff(attempt), error)
        except (*DATABASE_ERRORS, LogUnavailable) as exc:
            # Left pending: the next tick tries again with the same Idempotency-Key.
            log.warning("notification_not_recorded_will_retry", delivery_id=str(delivery.delivery_id), error=repr(exc))

    def backoff(self, attempt: int) -> timedelta:
        """Exponential backoff with jitter: base * 2^(attempt-1), scaled by a random factor in [0.5, 1]."""
        return timedelta(seconds=self.backoff_s * 2 ** (attempt - 1) * self.rng.uniform(0.5, 1.0))

    async def _post(self, delivery: Delivery) -> str | None:
        headers = {"Idempotency-Key": str(delivery.delivery_id), "User-Agent": "incidents-escalator"}
        try:
            answer = await self.http.post(delivery.url, json=delivery.body, headers=headers, timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__
        return None if answer.is_success else f"HTTP {answer.status_code}"

    async def _record(self, delivery_id: UUID, status: str, attempt: int, at: datetime, error: str | None) -> None:
        async with self.pool.acquire() as conn:
            await store.record_attempt(conn, delivery_id, status, attempt, at, error)


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
