"""Entry point and composition root of the projector."""

import asyncio

import structlog
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI

from incidents_shared.consumer import ConsumerLoop
from incidents_shared.db import create_pool, migrate
from incidents_shared.kafka import make_producer, verify_log_topic, wait_for_kafka
from incidents_shared.logging import configure_logging
from incidents_shared.ops import add_ops_routes, kafka_probe, postgres_probe
from incidents_shared.service import run_with_ops
from incidents_shared.settings import load_settings
from projector.handler import ProjectorHandler
from projector.settings import GROUP_ID, ProjectorSettings

log = structlog.get_logger(__name__)


async def run(settings: ProjectorSettings) -> None:
    await wait_for_kafka(settings)
    await verify_log_topic(settings)
    pool = await create_pool(settings)
    async with pool.acquire() as conn:
        await migrate(conn)
    producer = make_producer(settings)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=GROUP_ID,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=settings.projector_batch_max,
    )
    handler = ProjectorHandler(pool, producer, GROUP_ID, settings.events_topic, settings.dlq_topic)
    loop = ConsumerLoop(
        consumer,
        settings.events_topic,
        handler,
        max_records=settings.projector_batch_max,
        poll_ms=settings.projector_poll_ms,
    )
    app = FastAPI(title="incidents projector")
    add_ops_routes(app, lambda: {"kafka": kafka_probe(settings.kafka_bootstrap), "postgres": postgres_probe(pool)})
    await producer.start()
    try:
        await run_with_ops("projector", app, settings.http_host, settings.projector_http_port, loop.run)
    finally:
        await producer.stop()
        await pool.close()


def main() -> None:
    settings = load_settings(ProjectorSettings)
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(run(settings))
