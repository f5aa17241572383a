"""Small helpers shared by the integration tests."""

import asyncio
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from incidentctl.logreader import read_log
from incidents_shared.domain.codec import decode
from incidents_shared.domain.events import EventBase
from incidents_shared.domain.record import Record
from incidents_shared.kafka import verify_log_topic
from incidents_shared.settings import CommonSettings


def auth(tokens: dict[str, str], role: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}", **headers}


async def log_incident(api: httpx.AsyncClient, tokens: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"title": "Checkout returns 502", "service": "checkout", "impact": "high", "urgency": "medium"}
    role = "manager" if fields.get("drill") else "reporter"  # only a manager starts a drill (0090)
    response = await api.post("/v1/incidents", json={**body, **fields}, headers=auth(tokens, role))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def shown_with_sla_targets(api: httpx.AsyncClient, tokens: dict[str, str], incident_id: str) -> Any:
    """The incident as the API shows it once the escalator's SLA targets reached the read model (else None)."""

    async def targets_set() -> dict[str, Any] | None:
        shown: dict[str, Any] = (await api.get(f"/v1/incidents/{incident_id}", headers=auth(tokens, "auditor"))).json()
        return shown if shown["ack_due_at"] is not None else None

    return await eventually(targets_set)


async def events_in_log(settings: CommonSettings, incident_id: str) -> list[EventBase]:
    """Every event of one incident as it stands in the Kafka topic, read independently of the projector."""
    return [decode(r.value) for r in await records_in_log(settings) if r.key == incident_id]


async def records_in_log(settings: CommonSettings) -> list[Record]:
    """Every record of the log topic, in log order per partition (incidentctl's reader, not the projector)."""
    return [record async for _, batch in read_log(settings) for record in batch]


async def eventually(check: Any, timeout_s: float = 15.0) -> Any:
    """Poll an async check until it returns a truthy value."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.1)


async def end_offsets(settings: CommonSettings) -> dict[int, int]:
    """The end offset of every partition of the log topic."""
    count = await verify_log_topic(settings)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(settings.events_topic, p) for p in range(count)]
        return {tp.partition: offset for tp, offset in (await consumer.end_offsets(tps)).items()}
    finally:
        await consumer.stop()


async def topic_end(settings: CommonSettings, topic: str, partition: int = 0) -> int:
    """The end offset of one partition of a topic: how many records it has ever held (e.g. the directory topic)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition)
        return int((await consumer.end_offsets([tp]))[tp])
    finally:
        await consumer.stop()


async def topic_records(settings: CommonSettings, topic: str, start: int = 0, partition: int = 0) -> list[Record]:
    """The records of one partition from `start` to its end, read by a raw consumer (no group, no decoding)."""
    end = await topic_end(settings, topic, partition)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    found: list[Record] = []
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, start)
        while start < end and (not found or found[-1].offset < end - 1):
            for message in (await consumer.getmany(tp, timeout_ms=1_000)).get(tp, []):
                key = message.key.decode() if message.key else None
                found.append(Record(partition, message.offset, key, message.value or b""))
    finally:
        await consumer.stop()
    return found
