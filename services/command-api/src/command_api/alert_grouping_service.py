"""Generic and Grafana alerts a grouping rule of the mapping groups (docs/decisions/0077): the alerts of one
group in a request become one notice, decided on the group's incident as an Alertmanager notification is
(`alert_groups_service`), with the rule's window deciding when the group's open incident takes no more. A
resolved alert that an earlier, still open incident of the group has firing goes to that incident."""

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from uuid import UUID

from command_api.alert_groups_service import AlertGroupService
from command_api.alert_routing import routing_key
from command_api.outcomes import AlertResult
from incidents_shared.domain import alerts as a
from incidents_shared.domain.alert_grouping import earlier_home, grouped_notice
from incidents_shared.domain.alert_grouping_rules import GroupingRule
from incidents_shared.domain.events import Actor

Members = Sequence[tuple[int, a.NormalizedAlert]]


async def receive_grouped(
    groups: AlertGroupService, actor: Actor, correlation_id: str, key: str, rule: GroupingRule, members: Members
) -> list[tuple[int, AlertResult]]:
    """The group's alerts of one request (with their index in it) on its incidents: each one's result."""
    known = await groups.read_model.incidents_of_key(key)
    homes: dict[UUID | None, list[tuple[int, a.NormalizedAlert]]] = defaultdict(list)
    for index, alert in members:
        homes[earlier_home(routing_key(actor.id, key), known, alert)].append((index, alert))  # the sender's (0090)
    current = replace(groups, window_s=rule.window)
    parts = [_decide(current if home is None else replace(groups, pinned=home), actor, correlation_id, key, rule, part)
             for home, part in homes.items()]  # fmt: skip
    return [result for done in await asyncio.gather(*parts) for result in done]


async def _decide(
    groups: AlertGroupService, actor: Actor, correlation_id: str, key: str, rule: GroupingRule, members: Members
) -> list[tuple[int, AlertResult]]:
    alerts = [alert for _, alert in members]
    notice = grouped_notice(key, rule, alerts, groups.mapping)
    handled = await groups.receive_notice(actor, correlation_id, notice, list(alerts))
    return list(zip((index for index, _ in members), handled.results, strict=True))
