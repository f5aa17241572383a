"""`incidents-admin`: prepare the log and the database (topics, migrations) and check them."""

import argparse
import asyncio

import structlog

from incidents_shared.db import create_pool, migrate
from incidents_shared.kafka import ensure_topics, verify_log_topic, wait_for_kafka
from incidents_shared.logging import configure_logging
from incidents_shared.settings import CommonSettings, load_settings

log = structlog.get_logger(__name__)


async def init(settings: CommonSettings) -> None:
    """Create the topics and apply the migrations; safe to run any number of times."""
    await wait_for_kafka(settings)
    await ensure_topics(settings)
    partitions = await verify_log_topic(settings)
    pool = await create_pool(settings)
    try:
        async with pool.acquire() as conn:
            applied = await migrate(conn)
    finally:
        await pool.close()
    log.info("platform_initialised", topic=settings.events_topic, partitions=partitions, migrations=applied)


async def check(settings: CommonSettings) -> None:
    partitions = await verify_log_topic(settings)
    log.info("log_topic_ok", topic=settings.events_topic, partitions=partitions)


def main() -> None:
    parser = argparse.ArgumentParser(prog="incidents-admin", description=__doc__)
    parser.add_argument("action", choices=["init", "check"], help="init: topics + migrations; check: topic guard")
    args = parser.parse_args()
    settings = load_settings(CommonSettings)
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(init(settings) if args.action == "init" else check(settings))
