"""Entry point and composition root of the projector."""

import asyncio
import contextlib

import structlog

from incidents_shared.consumer import BatchHandler
from incidents_shared.db import Pool
from incidents_shared.gc_tuning import tune_for_batches
from incidents_shared.kafka import make_producer, verify_log_topic
from incidents_shared.logging import configure_logging
from incidents_shared.reader import ReaderSpec, run_log_reader
from incidents_shared.settings import load_settings
from projector.handler import AuditCheckpoints, ProjectorHandler
from projector.monitor import Monitor
from projector.release_worker import ReleaseWorker
from projector.settings import GROUP_ID, ProjectorSettings

log = structlog.get_logger(__name__)


async def _cancel(task: "asyncio.Task[None]") -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def run(settings: ProjectorSettings) -> None:
    spec = ReaderSpec(
        "projector", GROUP_ID, settings.projector_http_port, settings.projector_batch_max, settings.projector_poll_ms
    )
    async with contextlib.AsyncExitStack() as stack:
        producer = make_producer(settings)  # for the dead-letter topic

        async def make_handler(pool: Pool) -> BatchHandler:
            await producer.start()
            stack.push_async_callback(producer.stop)
            partitions = await verify_log_topic(settings)
            watch = Monitor(
                pool, settings.database_url, settings.kafka_bootstrap, GROUP_ID, settings.events_topic, partitions
            )
            monitor = asyncio.create_task(watch.run())
            stack.push_async_callback(_cancel, monitor)
            releases = asyncio.create_task(ReleaseWorker(pool, settings.database_url).run())
            stack.push_async_callback(_cancel, releases)
            audit = None
            if settings.audit_key is not None:
                audit = AuditCheckpoints(settings.audit_key.get_secret_value().encode(), settings.audit_checkpoint_s)
            else:
                log.warning("audit_checkpoints_disabled", reason="INCIDENTS_AUDIT_KEY is not set")
            return ProjectorHandler(pool, producer, GROUP_ID, settings.events_topic, settings.dlq_topic, audit)

        await run_log_reader(settings, spec, make_handler)


def main() -> None:
    settings = load_settings(ProjectorSettings)
    configure_logging(settings.log_level, settings.log_format)
    tune_for_batches()
    asyncio.run(run(settings))
