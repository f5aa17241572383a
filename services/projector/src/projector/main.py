"""Entry point and composition root of the projector."""

import asyncio
import contextlib

import structlog

from incidents_shared.audit import public_key_text
from incidents_shared.consumer import BatchHandler
from incidents_shared.db import Pool, renew_after_swap
from incidents_shared.gc_tuning import tune_for_batches
from incidents_shared.kafka import make_producer
from incidents_shared.listen import Listener
from incidents_shared.logging import configure_logging
from incidents_shared.names import RELEASE_CHANNEL, SWAP_CHANNEL
from incidents_shared.reader import ReaderSpec, run_log_reader
from incidents_shared.settings import load_settings
from incidents_shared.supervise import Worker, run_service
from projector.adapters import KafkaDeadLetters, postgres_read_model
from projector.handler import AuditCheckpoints, ProjectorHandler
from projector.monitor import Monitor
from projector.release_worker import ReleaseWorker
from projector.settings import GROUP_ID, ProjectorSettings

log = structlog.get_logger(__name__)


def make_workers(settings: ProjectorSettings, pool: Pool) -> list[Worker]:
    """Beside the consumer: the lag monitor, the release worker and the one listener that wakes it."""
    releases = ReleaseWorker(pool)
    channels = {SWAP_CHANNEL: renew_after_swap(pool), RELEASE_CHANNEL: releases.notified}
    listener = Listener(settings.database_url, "projector-listener", channels)
    monitor = Monitor(pool, settings, GROUP_ID)
    return [
        Worker("projector-listener", listener.run, restart=True),
        Worker("projector-monitor", monitor.run, restart=True),
        Worker("projector-releases", releases.run, restart=True),
    ]


def audit_checkpoints(settings: ProjectorSettings) -> AuditCheckpoints | None:
    """The signed checkpoints' writer, or None (with a warning) without a signing key (docs/decisions/0082)."""
    if settings.audit_key is not None:
        log.warning("audit_key_ignored", reason="INCIDENTS_AUDIT_KEY (HMAC) is retired; see docs/SECURITY.md")
    key = settings.signing_key()
    if key is None:
        log.warning("audit_checkpoints_disabled", reason="INCIDENTS_AUDIT_SIGNING_KEY_FILE is not set")
        return None
    path = settings.audit_signing_key_file
    if path is not None and path.stat().st_mode & 0o077:
        log.warning("audit_signing_key_file_readable_by_others", path=str(path))
    log.info("audit_checkpoints_signed", key_id=key.key_id, public_key=public_key_text(key.public))
    return AuditCheckpoints(key, settings.audit_checkpoint_s)


async def run(settings: ProjectorSettings) -> None:
    spec = ReaderSpec(
        "projector", GROUP_ID, settings.projector_http_port, settings.projector_batch_max, settings.projector_poll_ms
    )
    async with contextlib.AsyncExitStack() as stack:
        producer = make_producer(settings)  # for the dead-letter topic

        async def make_handler(pool: Pool) -> BatchHandler:
            await producer.start()
            stack.push_async_callback(producer.stop)
            audit = audit_checkpoints(settings)
            read_model = postgres_read_model(pool, GROUP_ID, settings.events_topic)
            return ProjectorHandler(read_model, KafkaDeadLetters(producer, settings.dlq_topic), audit)

        await run_log_reader(settings, spec, make_handler, make_workers=lambda pool: make_workers(settings, pool))


def main() -> None:
    settings = load_settings(ProjectorSettings)
    configure_logging(settings.log_level, settings.log_format)
    tune_for_batches()
    run_service(run(settings), asyncio.run)
