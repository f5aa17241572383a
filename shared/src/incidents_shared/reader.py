"""The composition every log reader shares: wait for the log and the database, migrate, consume, serve ops."""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI

from incidents_shared.consumer import BatchHandler, ConsumerLoop
from incidents_shared.db import Pool, create_pool, migrate
from incidents_shared.kafka import verify_log_topic, wait_for_kafka
from incidents_shared.ops import NO_OTEL, add_ops_routes, kafka_probe, postgres_probe
from incidents_shared.service import run_with_ops
from incidents_shared.settings import CommonSettings
from incidents_shared.supervise import Worker


@dataclass(frozen=True)
class ReaderSpec:
    """How one log reader is named, where it listens, and how it batches."""

    name: str
    group: str
    http_port: int
    batch_max: int
    poll_ms: int


HandlerFactory = Callable[[Pool], Awaitable[BatchHandler]]
# Workers beside the consumer (the escalator's timers and outbox, the projector's monitor), supervised with it.
WorkersFactory = Callable[[Pool], Sequence[Worker]]


async def run_log_reader(
    settings: CommonSettings,
    spec: ReaderSpec,
    make_handler: HandlerFactory,
    *,
    on_assigned: Callable[[list[int]], Awaitable[None]] | None = None,
    make_workers: WorkersFactory | None = None,
) -> None:
    """Run a consumer group over the log beside its /healthz, /readyz and /metrics, until SIGTERM.

    `on_assigned` hears the partitions after every rebalance (and none when they are revoked, before it);
    `make_workers` adds supervised workers that run
    as long as the consumer does (incidents_shared.supervise).
    """
    await wait_for_kafka(settings)
    await verify_log_topic(settings)
    pool = await create_pool(settings)
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
        handler = await make_handler(pool)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=spec.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=spec.batch_max,
            fetch_min_bytes=settings.consumer_fetch_min_bytes,
            fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
        )
        loop = ConsumerLoop(
            consumer,
            settings.events_topic,
            handler,
            max_records=spec.batch_max,
            poll_ms=spec.poll_ms,
            on_assigned=on_assigned,
        )
        workers = [Worker(f"{spec.name}-consumer", loop.run), *(make_workers(pool) if make_workers else ())]
        app = FastAPI(title=f"incidents {spec.name}", telemetry=NO_OTEL)
        probes = {"kafka": kafka_probe(settings.kafka_bootstrap), "postgres": postgres_probe(pool)}
        add_ops_routes(app, lambda: probes)
        await run_with_ops(spec.name, app, settings.http_host, spec.http_port, workers)
    finally:
        await pool.close()
