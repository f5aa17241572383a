"""Entry point and composition root of the escalator."""

import asyncio

import structlog
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI

from escalator.handler import EscalatorHandler
from escalator.settings import GROUP_ID, EscalatorSettings
from incidents_shared.consumer import ConsumerLoop
from incidents_shared.db import create_pool, migrate
from incidents_shared.kafka import verify_log_topic, wait_for_kafka
from incidents_shared.logging import configure_logging
from incidents_shared.ops import add_ops_routes, kafka_probe, postgres_probe
from incidents_shared.service import run_with_ops
from incidents_shared.settings import load_settings

log = structlog.get_logger(__name__)


async def run(settings: EscalatorSettings) -> None:
    await wait_for_kafka(settings)
    await verify_log_topic(settings)
    pool = await create_pool(settings)
    async with pool.acquire() as conn:
        await migrate(conn)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=GROUP_ID,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=settings.escalator_batch_max,
    )
    handler = EscalatorHandler(pool, GROUP_ID, settings.events_topic)
    loop = ConsumerLoop(
        consumer,
        settings.events_topic,
        handler,
        max_records=settings.escalator_batch_max,
        poll_ms=settings.escalator_poll_ms,
    )
    app = FastAPI(title="incidents escalator")
    add_ops_routes(app, lambda: {"kafka": kafka_probe(settings.kafka_bootstrap), "postgres": postgres_probe(pool)})
    try:
        await run_with_ops("escalator", app, settings.http_host, settings.escalator_http_port, loop.run)
    finally:
        await pool.close()


def main() -> None:
    settings = load_settings(EscalatorSettings)
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(run(settings))
