"""Slack messages in Block Kit: the incident at a glance, with Acknowledge / Resolve buttons and an Open link. Pure.

Every message keeps its `text` (the fallback notifications and old clients show) and adds `blocks`: a section
with the priority, title, service and status, a line saying what happened, and the actions. The buttons carry
the incident's id as their `value`; a press comes back to `POST /v1/integrations/slack/interactions` with the
`action_id`, and the command API runs the command as the Slack user's directory user (docs/decisions/0080).
Text from incidents is escaped (`&`, `<`, `>`), so a title cannot become a mention, a link or a channel ping.
"""

from collections.abc import Mapping
from typing import Any

ACKNOWLEDGE = "incident.acknowledge"
RESOLVE = "incident.resolve"
OPEN = "incident.open"
ACTIONS_BLOCK = "incident.actions"
SECTION_LIMIT = 3_000  # Slack refuses a section text longer than this
_CONTROL = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_ACKNOWLEDGEABLE = {"new"}
_RESOLVABLE = {"new", "acknowledged", "investigating", "on_hold"}


def escape(text: str) -> str:
    """Slack's three control characters escaped."""
    return text.translate(_CONTROL)


def slack_message(text: str, facts: Mapping[str, Any]) -> dict[str, Any]:
    """`{"text": text, "blocks": [...]}` for a message about one incident; `{"text": text}` for anything else
    (a digest of several incidents, facts without a title). `text` is the escaped fallback; `facts` are raw."""
    if not facts.get("incident_id") or "title" not in facts:
        return {"text": text}
    blocks: list[dict[str, Any]] = [_section(facts)]
    if (what := _what(facts)) is not None:
        blocks.append({"type": "context", "elements": [_mrkdwn(what)]})
    if buttons := _buttons(facts):
        blocks.append({"type": "actions", "block_id": ACTIONS_BLOCK, "elements": buttons})
    return {"text": text, "blocks": blocks}


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": _clip(text)}


def _clip(text: str) -> str:
    return text if len(text) <= SECTION_LIMIT else text[: SECTION_LIMIT - 1] + "…"


def _section(facts: Mapping[str, Any]) -> dict[str, Any]:
    head = f"*[{facts.get('priority') or '-'}] {escape(str(facts['title']))}*"
    details = f"Service: {escape(str(facts.get('service')))} · Status: {escape(str(facts.get('status')))}"
    return {"type": "section", "text": _mrkdwn(f"{head}\n{details}\nIncident {facts['incident_id']}")}


def _what(facts: Mapping[str, Any]) -> str | None:
    """One line on why this message was sent, escaped."""
    match facts.get("event_type"):
        case "incident.paged":
            level = facts.get("level")
            return f"You are paged ({facts.get('reason')}" + (f", level {level})" if level is not None else ")")
        case "incident.escalated":
            return f"Escalated to level {facts.get('level')}, {escape(str(facts.get('team')))} ({facts.get('reason')})"
        case "incident.major_declared":
            return f"Declared a major incident: {escape(str(facts.get('reason')))}"
        case "incident.stakeholder_update_posted":
            return f"Update for {escape(str(facts.get('audience')))}: {escape(str(facts.get('message')))}"
    return None


def _buttons(facts: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Acknowledge while the incident is new, Resolve while it is open, Open when there is a link to it."""
    incident, status = str(facts["incident_id"]), str(facts.get("status"))
    buttons: list[dict[str, Any]] = []
    if status in _ACKNOWLEDGEABLE:
        buttons.append(_button(ACKNOWLEDGE, "Acknowledge", value=incident, style="primary"))
    if status in _RESOLVABLE:
        buttons.append(_button(RESOLVE, "Resolve", value=incident))
    links = facts.get("links") or {}
    if isinstance(links, Mapping) and isinstance(url := links.get("incident"), str) and url:
        buttons.append(_button(OPEN, "Open", value=incident, url=url))
    return buttons


def _button(action_id: str, label: str, **fields: str) -> dict[str, Any]:
    return {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": label}, **fields}
