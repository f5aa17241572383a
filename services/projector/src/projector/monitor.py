"""Gauges that need a look outside the batch: consumer lag per partition and parked incidents."""

import asyncio

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from prometheus_client import Gauge

from incidents_shared.consumer import STORE_ERRORS
from incidents_shared.db import Pool
from incidents_shared.offsets import load_offsets
from incidents_shared.readside import SWAP_CHANNEL

log = structlog.get_logger(__name__)

LAG = Gauge("projector_consumer_lag", "Records in the log not yet projected", ["partition"])
PARKED = Gauge("projector_parked_incidents", "Incidents parked behind a poison event")
INTERVAL_S = 5.0


class Monitor:
    """Every few seconds: the log's end offsets against the offsets stored with the read models."""

    def __init__(self, pool: Pool, dsn: str, bootstrap: str, group: str, topic: str, partitions: int) -> None:
        self.pool = pool
        self.dsn = dsn
        self._expiring: asyncio.Task[None] | None = None  # kept referenced while it runs
        self.partitions = partitions
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.group = group
        self.topic = topic

    async def run(self) -> None:
        listener = await self._listen_for_swaps()
        await self.consumer.start()
        try:
            while True:
                await self.sample()
                await asyncio.sleep(INTERVAL_S)
        finally:
            await self.consumer.stop()
            if listener is not None:
                await listener.close()

    async def _listen_for_swaps(self) -> asyncpg.Connection | None:
        """After a rebuild swapped the tables, connections are renewed: none keeps statements on old tables."""
        try:
            conn = await asyncpg.connect(self.dsn, timeout=5)
            await conn.add_listener(SWAP_CHANNEL, self._swapped)
            return conn
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            log.warning("swap_listener_unavailable", error=repr(exc))
            return None

    def _swapped(self, conn: object, pid: int, channel: str, payload: object) -> None:
        log.info("read_model_swapped", retired=payload)
        self._expiring = asyncio.get_running_loop().create_task(self.pool.expire_connections())

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
