"""Entry point and composition root of the escalator."""

import asyncio

from escalator.handler import EscalatorHandler
from escalator.settings import GROUP_ID, EscalatorSettings
from incidents_shared.consumer import BatchHandler
from incidents_shared.db import Pool
from incidents_shared.logging import configure_logging
from incidents_shared.reader import ReaderSpec, run_log_reader
from incidents_shared.settings import load_settings


async def run(settings: EscalatorSettings) -> None:
    spec = ReaderSpec(
        "escalator", GROUP_ID, settings.escalator_http_port, settings.escalator_batch_max, settings.escalator_poll_ms
    )

    async def make_handler(pool: Pool) -> BatchHandler:
        return EscalatorHandler(pool, GROUP_ID, settings.events_topic)

    await run_log_reader(settings, spec, make_handler)


def main() -> None:
    settings = load_settings(EscalatorSettings)
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(run(settings))
