"""The ceiling for appends: a raw aiokafka producer, acks=all, idempotent, events of our real size."""

import asyncio
import time
import uuid
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from incidents_shared.domain import commands as c
from incidents_shared.domain.codec import canonical_bytes
from incidents_shared.domain.decide import decide
from incidents_shared.domain.events import Actor, EventBase

ACTOR = Actor(id="bench", kind="service", role="manager")
WINDOW = 1_000  # sends in flight per await: thousands of pending futures wake up quadratically (aiokafka#528)


def logged_event(incident_id: uuid.UUID | None = None) -> EventBase:
    """A realistic `incident.logged` event, as the API would append it."""
    meta = c.CommandMeta(
        incident_id=incident_id or uuid.uuid4(),
        command_id=uuid.uuid4(),
        actor=ACTOR,
        now=datetime.now(UTC),
        correlation_id=str(uuid.uuid4()),
    )
    command = c.LogIncident(
        title="Checkout returns 502 for 30% of requests",
        service="checkout",
        description="p95 latency 30 s since 09:40 UTC; errors in the payment gateway",
        impact="high",
        urgency="medium",
        category="software",
        labels={"env": "prod"},
    )
    return decide(None, command, meta)[0]


async def measure(bootstrap: str, topic: str, count: int) -> float:
    """Events per second for `count` appends of real-size events."""
    values = [(str(e.incident_id).encode(), canonical_bytes(e)) for e in (logged_event() for _ in range(count))]
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5, max_batch_size=256 * 1024
    )
    await producer.start()
    try:
        started = time.perf_counter()
        for start in range(0, count, WINDOW):
            futures = [await producer.send(topic, value, key=key) for key, value in values[start : start + WINDOW]]
            await asyncio.gather(*futures)
        return count / (time.perf_counter() - started)
    finally:
        await producer.stop()
