"""Entry point and composition root of the escalator."""

import asyncio
import contextlib
import sys

import httpx

from escalator.adapters import postgres_fold_store
from escalator.channels import ChannelSender
from escalator.clock import Clock, SystemClock
from escalator.destinations import Destinations
from escalator.email_channel import EmailChannel
from escalator.firing import TimerLoop
from escalator.handler import EscalatorHandler
from escalator.http_channel import HttpChannel
from escalator.ownership import Ownership
from escalator.people import PeopleSource
from escalator.release import ReleaseFollower
from escalator.sender import Sender
from escalator.settings import GROUP_ID, EscalatorSettings
from escalator.status_mail import status_mailer
from escalator.store import register_policy
from incidents_shared.appender import KafkaAppender
from incidents_shared.consumer import BatchHandler
from incidents_shared.db import Pool
from incidents_shared.directory_log import DirectoryLog
from incidents_shared.domain.escalation.book import PolicyBook, PolicyVersionChanged
from incidents_shared.domain.escalation.policy import ChannelKind, Policy
from incidents_shared.gc_tuning import tune_for_batches
from incidents_shared.listen import Listener
from incidents_shared.logging import configure_logging
from incidents_shared.mail.settings import smtp_target
from incidents_shared.names import RELEASED_CHANNEL
from incidents_shared.page_links import link_maker
from incidents_shared.policy_file import PolicyError
from incidents_shared.reader import ReaderSpec, run_log_reader
from incidents_shared.settings import load_settings
from incidents_shared.supervise import Worker, background, run_service


class Escalator:
    """Wires the fold, the timer loop and the sender around one pool, one appender and one policy book."""

    def __init__(self, settings: EscalatorSettings, policy: Policy, clock: Clock, stack: contextlib.AsyncExitStack):
        self.settings, self.policy, self.clock, self.stack = settings, policy, clock, stack
        self.owned = Ownership()
        self.appender = KafkaAppender(settings, settings.append_timeout_s)
        self.book = PolicyBook(policy)
        self.directory = DirectoryLog(settings, "escalator-directory")
        self.people = PeopleSource(self.directory, settings.default_team, link_maker(settings))

    async def follow_directory(self) -> None:
        """Fold the directory's log in the background, supervised (an unexpected error restarts it instead of leaving
        the escalator paging from a directory that no longer moves); pages need it, so wait until it has caught up."""
        await self.stack.enter_async_context(
            background([Worker("escalator-directory", self.directory.run, restart=True)])
        )
        await self.directory.ready(self.settings.startup_timeout_s)

    async def make_handler(self, pool: Pool) -> BatchHandler:
        async with pool.acquire() as conn:
            seen = await register_policy(conn, self.policy)  # refuses an edited file with an old version
        self.book.versions.update({p.key: p for p in seen if p.key != self.policy.key})
        await self.follow_directory()
        await self.appender.start()
        self.stack.push_async_callback(self.appender.stop)
        return EscalatorHandler(postgres_fold_store(pool, GROUP_ID, self.settings.events_topic), self.book, self.people)

    def make_workers(self, pool: Pool) -> list[Worker]:
        s = self.settings
        http = httpx.AsyncClient(follow_redirects=False)
        self.stack.push_async_callback(http.aclose)
        web = HttpChannel(http, s.target_allowances(), timeout_s=s.notify_timeout_s)
        mail = EmailChannel(smtp_target(s), self.clock, timeout_s=s.smtp_timeout_s)
        channels: dict[ChannelKind, ChannelSender] = {ChannelKind.WEBHOOK: web, ChannelKind.SLACK: web,
                                                      ChannelKind.EMAIL: mail}  # fmt: skip
        timers = TimerLoop(pool, self.appender, self.book, self.people, self.clock, self.owned, tick_s=s.timer_tick_s,
                           crash_after_emit=s.escalator_crash_after_emit)  # fmt: skip
        sender = Sender(
            pool,
            self.appender,
            channels,
            Destinations(self.book, self.people),
            self.clock,
            self.owned,
            tick_s=s.timer_tick_s,
            max_attempts=s.notify_max_attempts,
            backoff_s=s.notify_backoff_s,
            concurrency=s.notify_concurrency,
            crash_after_delivery=s.escalator_crash_after_delivery,
        )
        follower = ReleaseFollower(
            pool, s, self.book, self.people
        )  # releases what the projector released (decision 0062)
        listener = Listener(s.database_url, "escalator-listener", {RELEASED_CHANNEL: follower.notified})
        mailer = status_mailer(s, pool, lambda: self.directory.state.services, self.clock)
        return [
            Worker("escalator-timers", timers.run),
            Worker("escalator-sender", sender.run),
            Worker("escalator-listener", listener.run, restart=True),
            Worker("escalator-releases", follower.run, restart=True),
            Worker("escalator-status-mail", mailer.run, restart=True),  # the status page's subscribers (0081)
        ]


async def run(settings: EscalatorSettings, policy: Policy, clock: Clock) -> None:
    spec = ReaderSpec(
        "escalator", GROUP_ID, settings.escalator_http_port, settings.escalator_batch_max, settings.escalator_poll_ms
    )
    async with contextlib.AsyncExitStack() as stack:
        app = Escalator(settings, policy, clock, stack)
        await run_log_reader(
            settings, spec, app.make_handler, on_assigned=app.owned.assigned, make_workers=app.make_workers
        )


def main() -> None:
    settings = load_settings(EscalatorSettings)
    configure_logging(settings.log_level, settings.log_format)
    tune_for_batches()  # it folds the log in batches like the projector (incidents_shared.gc_tuning)
    try:
        policy = settings.load_policy()
        run_service(run(settings, policy, SystemClock(settings.escalator_clock_skew_s)), asyncio.run)
    except (PolicyError, PolicyVersionChanged) as exc:
        sys.stderr.write(f"escalator: refusing to start (INCIDENTS_POLICY_FILE={settings.policy_file}):\n{exc}\n")
        raise SystemExit(2) from exc
