"""How the sender hands one delivery to the channel that carries it (HTTP for webhook and Slack, SMTP for email).

The sender (escalator.sender) resolves the destination at send time from the configuration and the directory,
never from PostgreSQL, and asks the delivery's channel to carry it. A channel answers with a `SendResult`: accepted,
failed and worth retrying (a timeout, a 5xx from a webhook, a 4xx SMTP reply), or failed for good (a 5xx SMTP
reply, a refused destination), which is recorded failed at once with the receiver's reply.
"""

from dataclasses import dataclass
from typing import Protocol

from incidents_shared.domain.escalation.recipients import Delivery


@dataclass(frozen=True)
class SendResult:
    error: str | None = None  # None: the receiver accepted it
    permanent: bool = False  # an error no retry can fix: recorded failed at once

    @property
    def ok(self) -> bool:
        return self.error is None


SENT = SendResult()


class ChannelSender(Protocol):
    """Carries one delivery to one resolved destination (a URL, or a mailbox for email)."""

    async def send(self, delivery: Delivery, destination: str) -> SendResult:
        """Deliver `delivery.body` to `destination`; never raises for a receiver's failure."""
