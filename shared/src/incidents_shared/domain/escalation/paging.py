"""Pages: one per person, going out by each of their contact methods in turn, each an `incident.paged`. Pure.

A page starts from an accepted escalation or assignment. Each contact method is a durable timer due at the page's
start plus its delay; a due timer appends `incident.paged`, which the fold judges at its place in the log (an
acknowledgement before it stops a policy step's page and the later contact methods of any page), and only an
accepted one is delivered. So no contact method goes out after the acknowledgement's offset, even across a
restart.
"""

from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid5

from incidents_shared.domain import events as e
from incidents_shared.domain import payloads as p
from incidents_shared.domain.enums import ContactKind, PageReason, Source, Status
from incidents_shared.domain.escalation.destinations import ContactRef, shown_address
from incidents_shared.domain.escalation.people import People, Reach, Target
from incidents_shared.domain.escalation.policy import ChannelKind
from incidents_shared.domain.escalation.recipients import NO_CHANNEL, Delivery, delivery_id, slack_escape
from incidents_shared.domain.escalation.slack_blocks import slack_message
from incidents_shared.domain.escalation.timers import Timer, TimerKind, timer_id
from incidents_shared.domain.state import Incident
from incidents_shared.domain.timeutil import format_utc

_CHANNEL_KINDS = {
    ContactKind.WEBHOOK: ChannelKind.WEBHOOK,
    ContactKind.SLACK: ChannelKind.SLACK,
    ContactKind.EMAIL: ChannelKind.EMAIL,
}


def page_id(about_event_id: UUID, user: str) -> UUID:
    return uuid5(about_event_id, f"page|{user}")


def page_timers(
    about: e.EventBase, state: Incident, partition: int, reach: Reach, people: People, level: int | None
) -> list[Timer]:
    """One timer per contact method of each person reached: due at the page's start plus the method's delay."""
    timers: list[Timer] = []
    for target in reach.targets:
        user = people.directory.users[target.user]
        page = page_id(about.event_id, target.user)
        for index, method in enumerate(user.contact_methods):
            if index > 0 and state.status is not Status.NEW:
                break  # acknowledged already: only the first contact method goes out (preconditions._page)
            data = _paged_data(about, target, page, index, method.kind, method.address, level)
            kind = TimerKind.PAGE if index > 0 or target.reason is PageReason.STEP else TimerKind.PAGE_FIRST
            due = about.occurred_at + method.delay
            payload = data.model_dump(mode="json")
            ident = timer_id(state.incident_id, kind, index, due, str(page))
            cause = str(about.event_id)
            timers.append(
                Timer(ident, state.incident_id, kind, index, due, partition, cause, about.correlation_id, payload)
            )
    return timers


def _paged_data(
    about: e.EventBase, target: Target, page: UUID, index: int, kind: ContactKind, address: str, level: int | None
) -> p.PagedData:
    return p.PagedData(
        page_id=page,
        user=target.user,
        reason=target.reason,
        about_event_id=about.event_id,
        contact=p.ContactAttempt(index=index, kind=kind, address=shown_address(kind, address)),  # never a URL's secret
        level=level,
        team=target.team,
        schedule=target.schedule,
        source=target.source,
    )


def page_delivery(event: e.IncidentPaged, state: Incident, partition: int, people: People) -> Delivery:
    """The message of one accepted page, to its contact method; never silent when it cannot be sent."""
    links = people.links(state.incident_id, event.data.page_id, event.data.user, event.occurred_at)
    return contact_delivery(event, state, partition, _facts(event, state, links), page_text)


Facts = dict[str, Any]  # a page's body as a webhook receives it


def contact_delivery(event: e.IncidentPaged, state: Incident, partition: int, facts: Facts,
                     text: Callable[[Facts], str]) -> Delivery:  # fmt: skip
    """`facts` to the page's contact method (`text(facts)` for Slack), or an undeliverable one saying why."""
    data = event.data
    channel = f"page:{data.contact.kind}"
    kind = _CHANNEL_KINDS.get(data.contact.kind)
    why = _unsendable(data.contact)
    drill = state.source is Source.DRILL
    ident = delivery_id(event.event_id, channel, data.user)
    if why is not None or kind is None:
        return Delivery(ident, state.incident_id, event.event_id, partition, NO_CHANNEL, None, None, data.user, facts,
                        drill, why or f"no sender for {data.contact.kind}")  # fmt: skip
    body = slack_message(text(facts), facts) if kind is ChannelKind.SLACK else facts
    to = ContactRef(data.user, data.contact.index, data.contact.kind)  # resolved in the directory when it is sent
    return Delivery(ident, state.incident_id, event.event_id, partition, channel, kind, to,
                    data.user, body, drill)  # fmt: skip


def _unsendable(contact: p.ContactAttempt) -> str | None:
    if contact.kind is ContactKind.SLACK and not contact.address.startswith(("https://", "http://")):
        return f"slack address {contact.address!r} is not an incoming-webhook URL; only those are sent to"
    return None


def _facts(event: e.IncidentPaged, state: Incident, links: dict[str, str]) -> dict[str, Any]:
    data = event.data
    return {
        "event_id": str(event.event_id),
        "event_type": "incident.paged",
        "incident_id": str(state.incident_id),
        "title": state.title,
        "service": state.service,
        "priority": state.priority.value if state.priority else None,
        "status": state.status.value,
        "target": data.user,
        "page_id": str(data.page_id),
        "user": data.user,
        "reason": data.reason.value,
        "level": data.level,
        "team": data.team,
        "schedule": data.schedule,
        "source": data.source,
        "contact": {"index": data.contact.index, "kind": data.contact.kind.value},
        "paged_at": format_utc(event.occurred_at),
        "links": links,
    }


def page_text(facts: dict[str, Any]) -> str:
    """A page for Slack: escaped text, then the links in Slack's <url|label> form."""
    title, service = slack_escape(str(facts["title"])), slack_escape(str(facts["service"]))
    why = f"{facts['reason']}" + (f", level {facts['level']}" if facts["level"] is not None else "")
    text = f"[{facts['priority'] or '-'}] {title} ({service}): you are paged ({why}), incident {facts['incident_id']}"
    links = facts["links"]
    labelled = [f"<{url}|{label.capitalize()}>" for label, url in links.items()]
    return text + (" " + " · ".join(labelled) if labelled else "")
