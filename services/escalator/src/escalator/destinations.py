"""Resolving a delivery's destination when it is sent: the policy file in force, the directory as it is now.

Nothing here is stored: a channel's URL lives in the policy file (and the environment it names), a person's
contact method in the directory's log. A reference that no longer resolves is a permanent failure saying why.
"""

from dataclasses import dataclass

from escalator.ports import PeopleNow
from incidents_shared.domain.escalation.book import PolicyBook
from incidents_shared.domain.escalation.destinations import ChannelRef, ContactRef
from incidents_shared.domain.escalation.recipients import Delivery


@dataclass(frozen=True)
class Unresolved:
    """Why a delivery's destination cannot be found any more."""

    why: str


class Destinations:
    def __init__(self, book: PolicyBook, people: PeopleNow) -> None:
        self.book, self.people = book, people

    def resolve(self, delivery: Delivery) -> str | Unresolved:
        """The URL or mailbox `delivery` goes to now."""
        to = delivery.destination
        if isinstance(to, ChannelRef):
            return self._channel(delivery, to)
        if isinstance(to, ContactRef):
            return self._contact(to)
        return Unresolved("no destination recorded (queued before destinations were references, migration 0016)")

    def _channel(self, delivery: Delivery, to: ChannelRef) -> str | Unresolved:
        policy = self.book.current
        channel = policy.channels.get(to.name)
        if channel is None:
            return Unresolved(f"channel {to.name!r} is no longer in the policy file in force ({policy.id})")
        if channel.kind is not delivery.kind:
            return Unresolved(
                f"channel {to.name!r} is now a {channel.kind} channel; this message was for {delivery.kind}"
            )
        return channel.destination()

    def _contact(self, to: ContactRef) -> str | Unresolved:
        user = self.people().directory.users.get(to.user)
        if user is None:
            return Unresolved(f"user {to.user!r} is no longer in the directory")
        if to.index >= len(user.contact_methods):
            return Unresolved(f"user {to.user!r} has no contact method #{to.index + 1} any more")
        method = user.contact_methods[to.index]
        if method.kind is not to.kind:
            return Unresolved(f"contact method #{to.index + 1} of {to.user!r} is now {method.kind}, was {to.kind}")
        return method.address
