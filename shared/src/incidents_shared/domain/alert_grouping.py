"""Generic and Grafana alerts grouped by the mapping's rules (docs/decisions/0077). Pure: no I/O, no clock.

Alerts a rule groups become one `AlertGroupNotice` per group and request, decided like an Alertmanager
notification (`alert_group_decisions`): each alert recorded on the group's incident, firing counts, the priority
rising with a more severe alert, auto-resolved when every alert resolved. The group's dedup key is its service
and the values of the labels the rule names, so racing API instances derive the same incident ids (episodes,
0030); a firing alert arriving more than `window` after the group's last recorded alert opens the next episode.
"""

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TypeVar
from uuid import UUID

from incidents_shared.domain.alert_decisions import current_episode, episode_id
from incidents_shared.domain.alert_grouping_rules import GroupingRule
from incidents_shared.domain.alert_groups import is_firing, most_severe
from incidents_shared.domain.alerts import AlertGroupNotice, AlertMapping, NormalizedAlert
from incidents_shared.domain.enums import AlertStatus
from incidents_shared.domain.state import Incident

PREFIX = "grouped"
MAX_KEY = 300
T = TypeVar("T")


def rule_for(mapping: AlertMapping, alert: NormalizedAlert) -> GroupingRule | None:
    """The first grouping rule that matches the alert, None when it opens its own incident."""
    return matching_rule(mapping, alert.source, alert.service, alert.labels)


def matching_rule(mapping: AlertMapping, source: str, service: str, labels: dict[str, str]) -> GroupingRule | None:
    """The first grouping rule for an alert of `source` and `service` with `labels`."""
    return next((rule for rule in mapping.grouping if rule.match.matches(source, service, labels)), None)


def group_name(rule: GroupingRule, alert: NormalizedAlert) -> str:
    """What the group is: its service and the values of the labels the rule names (`checkout alertname=X`)."""
    return name_of(rule, alert.service, alert.labels)


def name_of(rule: GroupingRule, service: str, labels: dict[str, str]) -> str:
    values = " ".join(f"{name}={labels.get(name, '')}" for name in rule.by)
    return f"{service} {values}".strip()


def group_key(rule: GroupingRule, alert: NormalizedAlert) -> str:
    """The dedup key of the group's incidents (hashed when it would be longer than a dedup key may be)."""
    return key_of(rule, alert.service, alert.labels)


def key_of(rule: GroupingRule, service: str, labels: dict[str, str]) -> str:
    name = name_of(rule, service, labels)
    readable = f"{PREFIX}/{name}"
    if len(readable) <= MAX_KEY:
        return readable
    return f"{PREFIX}/{service[:100]}/sha256:{hashlib.sha256(name.encode()).hexdigest()}"


def split(
    items: Sequence[NormalizedAlert | T], mapping: AlertMapping
) -> tuple[list[tuple[int, NormalizedAlert | T]], dict[str, tuple[GroupingRule, list[tuple[int, NormalizedAlert]]]]]:
    """The items no rule groups (with their index), and the grouped alerts by group key (rule, indexed alerts)."""
    alone: list[tuple[int, NormalizedAlert | T]] = []
    groups: dict[str, tuple[GroupingRule, list[tuple[int, NormalizedAlert]]]] = {}
    for index, item in enumerate(items):
        rule = rule_for(mapping, item) if isinstance(item, NormalizedAlert) else None
        if rule is None or not isinstance(item, NormalizedAlert):
            alone.append((index, item))
            continue
        groups.setdefault(group_key(rule, item), (rule, []))[1].append((index, item))
    return alone, groups


def grouped_notice(
    key: str, rule: GroupingRule, alerts: list[NormalizedAlert], mapping: AlertMapping
) -> AlertGroupNotice:
    """The notice of a group's alerts of one request: its incident titled by what they share."""
    return AlertGroupNotice(
        source=alerts[0].source,
        dedup_key=key,
        receiver="",
        group_key=group_name(rule, alerts[0]),
        status=AlertStatus.FIRING if any(map(is_firing, alerts)) else AlertStatus.RESOLVED,
        mapping_version=mapping.version,
        opening=_opening(key, alerts),
        alerts=alerts,
    )


def _opening(key: str, alerts: list[NormalizedAlert]) -> NormalizedAlert:
    """The group's incident: the most severe firing alert's levels and service, the labels all alerts share, the
    summary several share (else their alertname, else the most severe one's), detected when the first fired."""
    worst = most_severe(alerts)
    common = {n: v for n, v in worst.labels.items() if all(a.labels.get(n) == v for a in alerts)}
    summaries = {a.summary for a in alerts}
    shared = summaries.pop() if len(summaries) == 1 and len(alerts) > 1 else None  # one alert's may name its host
    summary = shared or common.get("alertname") or worst.summary
    started = [a.starts_at for a in alerts if is_firing(a)] or [a.starts_at for a in alerts]
    teams = {a.team for a in alerts}
    return worst.model_copy(
        update={
            "dedup_key": key,
            "fingerprint": key,
            "labels": common,
            "summary": summary[:200],
            "description": worst.description if len({a.description for a in alerts}) == 1 else "",
            "team": worst.team if len(teams) == 1 else None,
            "starts_at": min(started),
            "status": AlertStatus.FIRING if any(map(is_firing, alerts)) else AlertStatus.RESOLVED,
        }
    )


def window_expired(state: Incident, window_s: int, now: datetime) -> bool:
    """More than the window has passed since the group's last recorded alert (or its opening)."""
    last = state.last_alert_at or state.logged_at
    return now - last > timedelta(seconds=window_s)


def starts_anew(notice: AlertGroupNotice, window_s: int, now: datetime, state: Incident) -> bool:
    """A group's open incident is done taking alerts: the window since its last recorded alert has passed and the
    notice brings a firing alert it does not have firing (a re-send of one it has still joins it). A closed
    incident follows the reopen rules of single alerts (0030) instead."""
    if not state.is_open or not window_expired(state, window_s, now):
        return False
    known = state.group_alerts
    return any(
        is_firing(a) and ((mark := known.get(a.fingerprint)) is None or mark.status is not AlertStatus.FIRING)
        for a in notice.alerts
    )


def earlier_home(key: str, known: dict[UUID, Incident], alert: NormalizedAlert) -> UUID | None:
    """Where a resolved alert goes when the group's current incident does not have it firing: the latest earlier
    open incident of the group that does (its hosts recover after the next one opened), else None."""
    if is_firing(alert):
        return None
    latest = current_episode(key, set(known))
    states = [known[i] for i in (episode_id(key, n) for n in range(latest, -1, -1)) if i in known]
    if not states or _fires(states[0], alert.fingerprint):
        return None
    return next((s.incident_id for s in states[1:] if s.is_open and _fires(s, alert.fingerprint)), None)


def _fires(state: Incident, fingerprint: str) -> bool:
    mark = state.group_alerts.get(fingerprint)
    return mark is not None and mark.status is AlertStatus.FIRING
