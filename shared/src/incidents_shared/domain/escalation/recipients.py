"""Notifications: which channels an accepted event goes to, with what body and which idempotency key. Pure.

Never silent: a page to a team no channel reaches is an undeliverable delivery (recorded as a failed
notification); a drill's deliveries are recorded with what they would have said and never sent.
"""

from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid5

from incidents_shared.domain import events as e
from incidents_shared.domain.enums import Source
from incidents_shared.domain.escalation.book import PolicyBook
from incidents_shared.domain.escalation.destinations import ChannelRef, Destination
from incidents_shared.domain.escalation.policy import Channel, ChannelKind, Policy
from incidents_shared.domain.escalation.slack_blocks import slack_message
from incidents_shared.domain.state import Incident

NO_CHANNEL = "none"  # the channel name of an undeliverable delivery


@dataclass(frozen=True)
class Delivery:
    """One message to one channel. `delivery_id` is also the receiver's Idempotency-Key. Its `destination` is a
    reference the sender resolves when it sends, never the URL or mailbox itself (destinations, decision 0079)."""

    delivery_id: UUID
    incident_id: UUID
    about_event_id: UUID
    partition: int
    channel: str
    kind: ChannelKind | None  # None: no channel reaches the target (see `undeliverable`)
    destination: Destination
    target: str  # the team or audience it is meant for
    body: dict[str, Any]
    drill: bool = False  # about a drill: recorded as what would have been sent, never sent
    undeliverable: str | None = None  # why nobody can be reached: recorded as failed, never attempted


def delivery_id(about_event_id: UUID, channel: str, target: str) -> UUID:
    return uuid5(about_event_id, f"{channel}|{target}")


def deliveries_for(event: e.EventBase, state: Incident, partition: int, book: PolicyBook) -> list[Delivery]:
    """One delivery per channel of the team or audience `event` concerns (none for other events)."""
    policy = book.for_incident(state)
    target, named = _recipients(event, state, policy)
    facts = _facts(event, state, target)
    drill = state.source is Source.DRILL
    if isinstance(event, e.IncidentEscalated | e.MajorDeclared) and target and (why := policy.unreachable(target)):
        return [undeliverable(event, state, partition, target, why)]
    return [
        Delivery(delivery_id(event.event_id, name, target), state.incident_id, event.event_id, partition, name,
                 channel.kind, ChannelRef(name), target, _body(channel, facts), drill) if channel is not None
        else Delivery(delivery_id(event.event_id, name, target), state.incident_id, event.event_id, partition, name,
                      None, None, target, facts, drill, f"channel {name!r} is not in the policy file in force")
        for name, channel in book.channels(policy, named)
    ]  # fmt: skip


def undeliverable(event: e.EventBase, state: Incident, partition: int, target: str, why: str) -> Delivery:
    """Nobody can be reached for `target`: recorded as a failed notification saying why, never attempted."""
    facts = _facts(event, state, target)
    ident = delivery_id(event.event_id, NO_CHANNEL, target)
    drill = state.source is Source.DRILL
    return Delivery(
        ident, state.incident_id, event.event_id, partition, NO_CHANNEL, None, None, target, facts, drill, why
    )


def _recipients(event: e.EventBase, state: Incident, policy: Policy) -> tuple[str, list[str]]:
    """The team or audience and the names of its channels (resolved in the file in force: `PolicyBook.channels`)."""
    if isinstance(event, e.IncidentEscalated):
        return event.data.target_team, _team_channels(policy, event.data.target_team)
    if isinstance(event, e.MajorDeclared):
        team = _major_team(state, policy)
        return (team, _team_channels(policy, team)) if team else ("", [])
    if isinstance(event, e.StakeholderUpdatePosted):
        audience = event.data.audience
        return audience, list(policy.stakeholders.get(audience, policy.stakeholders.get("*", [])))
    return "", []


def _team_channels(policy: Policy, team: str) -> list[str]:
    known = policy.teams.get(team)
    return list(known.channels) if known else []


def _major_team(state: Incident, policy: Policy) -> str | None:
    """The incident's priority rule names who hears of a major incident; else the first rule that does."""
    rule = policy.priorities.get(state.priority) if state.priority else None
    if rule is not None and rule.major is not None:
        return rule.major.notify
    return next((r.major.notify for r in policy.priorities.values() if r.major is not None), None)


def _facts(event: e.EventBase, state: Incident, target: str) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "event_id": str(event.event_id),
        "event_type": e.event_type(type(event)),
        "incident_id": str(state.incident_id),
        "title": state.title,
        "service": state.service,
        "priority": state.priority.value if state.priority else None,
        "status": state.status.value,
        "target": target,
    }
    if isinstance(event, e.IncidentEscalated):
        facts |= {"level": event.data.level, "reason": event.data.reason.value, "team": event.data.target_team}
    elif isinstance(event, e.MajorDeclared):
        facts |= {"reason": event.data.reason}
    elif isinstance(event, e.StakeholderUpdatePosted):
        facts |= {"audience": event.data.audience, "message": event.data.message}
    return facts


def _body(channel: Channel, facts: dict[str, Any]) -> dict[str, Any]:
    if channel.kind is ChannelKind.SLACK:
        text = _text({k: slack_escape(v) if isinstance(v, str) else v for k, v in facts.items()})
        return slack_message(text, facts)  # Block Kit with Acknowledge / Resolve (docs/decisions/0080)
    return facts


_SLACK_CONTROL = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def slack_escape(text: str) -> str:
    """Slack's three control characters escaped, so text cannot become a mention, a link or a channel ping."""
    return text.translate(_SLACK_CONTROL)


def _text(facts: dict[str, Any]) -> str:
    """The message from facts already escaped for Slack (`_body`)."""
    head = f"[{facts['priority'] or '-'}] {facts['title']} ({facts['service']}, incident {facts['incident_id']})"
    match facts["event_type"]:
        case "incident.escalated":
            return f"{head}: escalated to level {facts['level']}, {facts['team']} ({facts['reason']})"
        case "incident.major_declared":
            return f"{head}: declared a major incident: {facts['reason']}"
        case _:
            return f"{head}: update for {facts.get('audience')}: {facts.get('message')}"
