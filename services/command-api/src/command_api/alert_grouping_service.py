"""Generic and Grafana alerts a grouping rule of the mapping groups (docs/decisions/0077): the alerts of one
group in a request become one notice, decided on the group's incident as an Alertmanager notification is
(`alert_groups_service`), with the rule's window deciding when the group's open incident takes no more."""

from collections.abc import Sequence
from dataclasses import replace

from command_api.alert_groups_service import AlertGroupService
from command_api.outcomes import AlertResult
from incidents_shared.domain import alerts as a
from incidents_shared.domain.alert_grouping import grouped_notice
from incidents_shared.domain.alert_grouping_rules import GroupingRule
from incidents_shared.domain.events import Actor

Members = Sequence[tuple[int, a.NormalizedAlert]]


async def receive_grouped(
    groups: AlertGroupService, actor: Actor, correlation_id: str, key: str, rule: GroupingRule, members: Members
) -> list[tuple[int, AlertResult]]:
    """The group's alerts of one request (with their index in it) on its incident: each one's result."""
    alerts = [alert for _, alert in members]
    notice = grouped_notice(key, rule, alerts, groups.mapping)
    handled = await replace(groups, window_s=rule.window).receive_notice(actor, correlation_id, notice, list(alerts))
    return list(zip((index for index, _ in members), handled.results, strict=True))
