"""The status page's use cases: the view of now, and the subscriptions when SMTP is configured (decision 0081)."""

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from command_api import status_feed
from command_api import status_html as html
from command_api.ratelimit import RateLimiter
from command_api.settings import ApiSettings
from command_api.status_query import PgStatusReads
from command_api.status_store import PgSubscribers
from command_api.status_subscriptions import Subscriptions
from command_api.status_view import StatusView, build_view
from incidents_shared.db import Pool
from incidents_shared.domain.directory.model import Service
from incidents_shared.mail.settings import smtp_target


@dataclass
class StatusPage:
    reads: PgStatusReads
    listed: Iterable[str]  # INCIDENTS_STATUS_COMPONENTS
    names: Callable[[], Mapping[str, str]]  # the directory's service names, read when the page is built
    title: str
    links: html.Links
    clock: Callable[[], datetime]
    per_client: RateLimiter  # subscription requests per client address
    subscriptions: Subscriptions

    async def view(self) -> tuple[StatusView, datetime]:
        now = self.clock()
        return build_view(await self.reads.customer_updates(now), self.listed, self.names(), now), now

    async def page(self) -> str:
        view, _ = await self.view()
        return html.page(view, self.title)

    async def feed(self) -> bytes:
        view, now = await self.view()
        return status_feed.atom(view, self.title, self.links, now)


def status_page(settings: ApiSettings, pool: Pool, services: Callable[[], Mapping[str, Service]]) -> StatusPage:
    """The status page the settings describe; subscribing needs an SMTP relay (INCIDENTS_SMTP_URL)."""
    links = html.Links(settings.public_url)
    clock = functools.partial(datetime.now, UTC)
    per_address = RateLimiter(1 / 600, 3)  # three confirmations, then one per ten minutes
    subscriptions = Subscriptions(
        PgSubscribers(pool),
        smtp_target(settings),
        links,
        settings.status_title,
        clock,
        per_address,
        timeout_s=settings.smtp_timeout_s,
    )
    return StatusPage(
        PgStatusReads(pool),
        [c.strip() for c in settings.status_components.split(",") if c.strip()],
        lambda: {service_id: service.name for service_id, service in services().items()},
        settings.status_title,
        links,
        clock,
        RateLimiter(settings.status_subscribe_per_s, settings.status_subscribe_burst),
        subscriptions,
    )
