"""Gauges that need a look outside the batch: consumer lag per partition and parked incidents."""

import asyncio

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from prometheus_client import Gauge

from incidents_shared.consumer import STORE_ERRORS
from incidents_shared.db import Pool
from incidents_shared.offsets import load_offsets

log = structlog.get_logger(__name__)

LAG = Gauge("projector_consumer_lag", "Records in the log not yet projected", ["partition"])
PARKED = Gauge("projector_parked_incidents", "Incidents parked behind a poison event")
INTERVAL_S = 5.0


class Monitor:
    """Every few seconds: the log's end offsets against the offsets stored with the read models."""

    def __init__(self, pool: Pool, bootstrap: str, group: str, topic: str, partitions: int) -> None:
        self.pool = pool
        self.partitions = partitions
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.group = group
        self.topic = topic

    async def run(self) -> None:
        await self.consumer.start()
        try:
            while True:
                await self.sample()
                await asyncio.sleep(INTERVAL_S)
        finally:
            await self.consumer.stop()

    async def sample(self) -> None:
        try:
            tps = [TopicPartition(self.topic, p) for p in range(self.partitions)]
            ends = await self.consumer.end_offsets(tps)
            async with self.pool.acquire() as conn:
                stored = await load_offsets(conn, self.group, self.topic)
                PARKED.set(await conn.fetchval("SELECT count(*) FROM parked_incidents"))
        except (KafkaError, *STORE_ERRORS) as exc:
            log.warning("monitor_sample_failed", error=repr(exc))
            return
        for tp, end in ends.items():
            LAG.labels(str(tp.partition)).set(max(0, end - stored.get(tp.partition, 0)))
