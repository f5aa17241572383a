"""Gauges that need a look outside the batch: consumer lag per partition and parked incidents."""

import asyncio

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from prometheus_client import Gauge

from incidents_shared.db import DATABASE_ERRORS, Pool
from incidents_shared.kafka import verify_log_topic
from incidents_shared.offsets import load_offsets
from incidents_shared.settings import CommonSettings
from incidents_shared.supervise import pause

log = structlog.get_logger(__name__)

LAG = Gauge("projector_consumer_lag", "Records in the log not yet projected", ["partition"])
PARKED = Gauge("projector_parked_incidents", "Incidents parked behind a poison event")
INTERVAL_S = 5.0


class Monitor:
    """Every few seconds: the log's end offsets against the offsets stored with the read models.

    A supervised worker (restartable): when Kafka is unreachable at start, `run` raises and is run again later.
    """

    def __init__(self, pool: Pool, settings: CommonSettings, group: str) -> None:
        self.pool, self.settings, self.group, self.topic = pool, settings, group, settings.events_topic

    async def run(self, stop: asyncio.Event) -> None:
        partitions = await verify_log_topic(self.settings)
        tps = [TopicPartition(self.topic, p) for p in range(partitions)]
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap, enable_auto_commit=False, client_id="projector-monitor"
        )
        try:
            await consumer.start()
            while not stop.is_set():
                await self.sample(consumer, tps)
                await pause(stop, INTERVAL_S)
        finally:
            await consumer.stop()

    async def sample(self, consumer: AIOKafkaConsumer, tps: list[TopicPartition]) -> None:
        try:
            ends = await consumer.end_offsets(tps)
            async with self.pool.acquire() as conn:
                stored = await load_offsets(conn, self.group, self.topic)
                PARKED.set(await conn.fetchval("SELECT count(*) FROM parked_incidents"))
        except (KafkaError, *DATABASE_ERRORS) as exc:
            log.warning("monitor_sample_failed", error=repr(exc))
            return
        for tp, end in ends.items():
            LAG.labels(str(tp.partition)).set(max(0, end - stored.get(tp.partition, 0)))
