"""Writing records straight to the log topic, as a buggy or future producer would."""

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from incidents_shared.domain.codec import canonical_bytes, canonical_json
from incidents_shared.domain.enums import NoteKind
from incidents_shared.domain.events import Actor, IncidentLogged, NoteAdded
from incidents_shared.domain.payloads import LoggedData, NoteAddedData
from incidents_shared.kafka import make_producer
from incidents_shared.settings import CommonSettings


async def produce(settings: CommonSettings, key: str | None, value: bytes) -> None:
    producer = make_producer(settings)
    await producer.start()
    try:
        await producer.send_and_wait(settings.events_topic, value, key=key.encode() if key else None)
    finally:
        await producer.stop()


def logged_event(incident_id: uuid.UUID, **data: Any) -> IncidentLogged:
    now = datetime.now(UTC)
    fields = {"title": "raw", "service": "raw", "reporter": "tester", "detected_at": now, **data}
    return IncidentLogged(
        event_id=uuid.uuid4(),
        incident_id=incident_id,
        occurred_at=now,
        recorded_at=now,
        actor=Actor(id="tester", kind="user", role="reporter"),
        correlation_id=f"raw-{uuid.uuid4()}",
        data=LoggedData(**fields),
    )


def raw_event(event_type: str, incident_id: uuid.UUID, data: dict[str, Any], schema_version: int) -> bytes:
    now = datetime.now(UTC).isoformat()
    return canonical_json(
        {
            "type": event_type,
            "schema_version": schema_version,
            "event_id": str(uuid.uuid4()),
            "incident_id": str(incident_id),
            "occurred_at": now,
            "recorded_at": now,
            "actor": {"id": "tester", "kind": "user", "role": "responder"},
            "correlation_id": f"raw-{uuid.uuid4()}",
            "data": data,
        }
    )


__all__ = ["canonical_bytes", "logged_event", "produce", "raw_event"]


def note_event(incident_id: uuid.UUID, n: int, text: str, actor_id: str) -> bytes:
    """The n-th note of a bulk load, as the API would append it."""
    now = datetime.now(UTC)
    return canonical_bytes(
        NoteAdded(
            event_id=uuid.uuid4(),
            incident_id=incident_id,
            occurred_at=now,
            recorded_at=now,
            actor=Actor(id=actor_id, kind="user", role="responder"),
            correlation_id=f"{actor_id}-{n}",
            data=NoteAddedData(kind=NoteKind.NOTE, text=f"{n}: {text}"),
        )
    )


async def append_notes(settings: CommonSettings, incident_id: str, count: int, text: str, actor_id: str) -> None:
    """Straight to the log, as the API appends them (one record per note, keyed by the incident), but in bulk."""
    producer = make_producer(settings, linger_ms=20)
    await producer.start()
    try:
        key, incident = incident_id.encode(), uuid.UUID(incident_id)
        sent = [
            await producer.send(settings.events_topic, note_event(incident, n, text, actor_id), key=key)
            for n in range(count)
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
