"""Entry point and composition root of the escalator."""

import asyncio
import contextlib
import sys

import httpx

from escalator.clock import Clock, SystemClock
from escalator.firing import TimerLoop
from escalator.handler import EscalatorHandler
from escalator.ownership import Ownership
from escalator.policies import PolicyBook, PolicyVersionChanged
from escalator.policy_file import PolicyError
from escalator.sender import Sender
from escalator.settings import GROUP_ID, EscalatorSettings
from escalator.store import register_policy
from incidents_shared.appender import KafkaAppender
from incidents_shared.consumer import BatchHandler
from incidents_shared.db import Pool
from incidents_shared.domain.policy import Policy
from incidents_shared.logging import configure_logging
from incidents_shared.reader import ReaderSpec, Worker, run_log_reader
from incidents_shared.settings import load_settings


async def run(settings: EscalatorSettings, policy: Policy, clock: Clock) -> None:
    spec = ReaderSpec(
        "escalator", GROUP_ID, settings.escalator_http_port, settings.escalator_batch_max, settings.escalator_poll_ms
    )
    owned = Ownership()
    books: list[PolicyBook] = []
    async with contextlib.AsyncExitStack() as stack:
        appender = KafkaAppender(settings, settings.append_timeout_s)
        http = await stack.enter_async_context(httpx.AsyncClient(follow_redirects=False))

        async def make_handler(pool: Pool) -> BatchHandler:
            async with pool.acquire() as conn:
                seen = await register_policy(conn, policy)
            books.append(PolicyBook(policy, {p.key: p for p in seen if p.key != policy.key}))
            await appender.start()
            stack.push_async_callback(appender.stop)
            return EscalatorHandler(pool, GROUP_ID, settings.events_topic, books[0])

        def make_workers(pool: Pool) -> list[Worker]:
            timers = TimerLoop(pool, appender, books[0], clock, owned, tick_s=settings.timer_tick_s,
                               crash_after_emit=settings.escalator_crash_after_emit)  # fmt: skip
            sender = Sender(
                pool,
                appender,
                http,
                clock,
                owned,
                tick_s=settings.timer_tick_s,
                timeout_s=settings.notify_timeout_s,
                max_attempts=settings.notify_max_attempts,
                backoff_s=settings.notify_backoff_s,
                concurrency=settings.notify_concurrency,
                crash_after_delivery=settings.escalator_crash_after_delivery,
            )
            return [timers.run, sender.run]

        await run_log_reader(settings, spec, make_handler, on_assigned=owned.assigned, make_workers=make_workers)


def main() -> None:
    settings = load_settings(EscalatorSettings)
    configure_logging(settings.log_level, settings.log_format)
    try:
        policy = settings.load_policy()
        asyncio.run(run(settings, policy, SystemClock()))
    except (PolicyError, PolicyVersionChanged) as exc:
        sys.stderr.write(f"escalator: refusing to start (INCIDENTS_POLICY_FILE={settings.policy_file}):\n{exc}\n")
        raise SystemExit(2) from exc
