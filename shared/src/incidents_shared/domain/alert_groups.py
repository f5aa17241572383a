"""Alertmanager notification groups: the dedup key of a group, the notice a notification becomes, and the parts
a large notification is recorded in. Pure: no I/O, no clock."""

import hashlib
from typing import Any

from incidents_shared.domain import payloads as p
from incidents_shared.domain.alerts import (
    AlertGroupNotice,
    AlertmanagerWebhook,
    AlertMapping,
    NormalizedAlert,
    normalize_fields,
    summary_of,
)
from incidents_shared.domain.enums import AlertStatus
from incidents_shared.domain.priority import priority_for
from incidents_shared.domain.taxonomy import Taxonomy

GROUP_SOURCE = "alertmanager"
MAX_KEY = 300  # a dedup key's length
MAX_RECORD_BYTES = 256_000  # alerts per incident.alerts_recorded, in JSON: far below Kafka's 1 MB per record
MAX_URL = 2_000


def group_dedup_key(receiver: str, group_key: str) -> str:
    """The dedup key of a group's incidents: its `groupKey` within its receiver (hashed if it would be too long)."""
    readable = f"{GROUP_SOURCE}/{receiver}/{group_key}"
    if len(readable) <= MAX_KEY:
        return readable
    digest = hashlib.sha256(f"{receiver}\n{group_key}".encode()).hexdigest()
    return f"{GROUP_SOURCE}/{receiver[:100]}/sha256:{digest}"


def is_firing(alert: NormalizedAlert) -> bool:
    return alert.status is AlertStatus.FIRING


def most_severe(alerts: list[NormalizedAlert]) -> NormalizedAlert:
    """The alert whose levels give the highest priority (firing ones first), the earliest of those."""
    firing = [alert for alert in alerts if is_firing(alert)] or alerts
    return min(firing, key=lambda alert: (priority_for(alert.impact, alert.urgency).value, alert.starts_at))


def notice_of(
    webhook: AlertmanagerWebhook, alerts: list[NormalizedAlert], mapping: AlertMapping, taxonomy: Taxonomy
) -> AlertGroupNotice | None:
    """The notice of a notification's valid alerts (normalized one by one), None when it has none.

    Raises pydantic's ValidationError when what the group has in common cannot make an incident."""
    if not alerts:
        return None
    key = group_dedup_key(webhook.receiver, webhook.group_key)
    return AlertGroupNotice(
        dedup_key=key,
        receiver=webhook.receiver,
        group_key=webhook.group_key,
        status=webhook.status,
        truncated=webhook.truncated_alerts,
        mapping_version=mapping.version,
        opening=_opening(webhook, alerts, key, mapping, taxonomy),
        alerts=alerts,
    )


def _opening(
    webhook: AlertmanagerWebhook, alerts: list[NormalizedAlert], key: str, mapping: AlertMapping, taxonomy: Taxonomy
) -> NormalizedAlert:
    """The incident of the group: titled by what its alerts have in common (their summary, else their alertname),
    the service and labels they share, the levels of the most severe firing one, detected when the first fired."""
    worst = most_severe(alerts)
    common, notes = webhook.common_labels, webhook.common_annotations
    runbook = notes.get("runbook_url") or worst.runbook_url
    fields: dict[str, Any] = {
        "source": GROUP_SOURCE,
        "dedup_key": key,
        "fingerprint": key,
        "status": AlertStatus.FIRING if any(map(is_firing, alerts)) else AlertStatus.RESOLVED,
        "severity": worst.severity,
        "summary": summary_of(notes, common, worst.summary),
        "description": notes.get("description", ""),
        "service": common.get(mapping.service_label) or worst.service,
        "starts_at": min(alert.starts_at for alert in [a for a in alerts if is_firing(a)] or alerts),
        "runbook_url": runbook if runbook and len(runbook) <= MAX_URL else None,
    }
    return normalize_fields(fields, common, mapping, taxonomy)


def recorded(alert: NormalizedAlert) -> p.RecordedAlert:
    """How an alert of a group is recorded: its fingerprint, labels, times and whether it fires."""
    ends_at = alert.ends_at if alert.status is AlertStatus.RESOLVED else None  # a firing alert's is only a guess
    return p.RecordedAlert(
        fingerprint=alert.fingerprint,
        status=alert.status,
        labels=alert.labels,
        starts_at=alert.starts_at,
        ends_at=ends_at,
    )


def parts(
    alerts: list[p.RecordedAlert], max_alerts: int = p.MAX_ALERTS_PER_RECORD, max_bytes: int = MAX_RECORD_BYTES
) -> list[list[p.RecordedAlert]]:
    """The alerts in parts of at most `max_alerts` and about `max_bytes` of JSON each (an alert alone may be more:
    64 labels of 1,000 characters are still well under a Kafka record's 1 MB). At least one part, maybe empty."""
    chunks: list[list[p.RecordedAlert]] = [[]]
    size = 0
    for alert in alerts:
        length = len(alert.model_dump_json().encode())
        if chunks[-1] and (len(chunks[-1]) >= max_alerts or size + length > max_bytes):
            chunks.append([])
            size = 0
        chunks[-1].append(alert)
        size += length
    return chunks
