"""Which alerts of its group an incident keeps track of, and what that says: how many fire now, and where. Pure.

An incident keeps at most MAX_TRACKED_ALERTS alerts (about 60 bytes each in its state). A new alert beyond that
takes the place of the resolved alert that changed longest ago; with none resolved it stays untracked: the
notification counts it (`untracked_firing`) but does not record it, so a re-send appends nothing for it either.
"""

from collections.abc import Iterable
from typing import Any

from incidents_shared.domain import payloads as p
from incidents_shared.domain.enums import AlertStatus
from incidents_shared.domain.state import Incident, TrackedAlert

MAX_TRACKED_ALERTS = 1_000
MAX_SHOWN_INSTANCES = 50
Tracked = dict[str, TrackedAlert]


def instance_of(alert: p.RecordedAlert) -> str:
    """Where an alert fires: its `instance` label, else its fingerprint."""
    return alert.labels.get("instance") or alert.fingerprint


def admit(tracked: Tracked, alerts: Iterable[p.RecordedAlert]) -> tuple[Tracked, list[p.RecordedAlert]]:
    """The tracked alerts after `alerts`, and those of `alerts` that are tracked (the others did not fit)."""
    after = dict(tracked)
    admitted = []
    for alert in alerts:
        known = after.pop(alert.fingerprint, None) is not None  # re-inserted last: the order of the last change
        if known or len(after) < MAX_TRACKED_ALERTS or _evict_resolved(after):
            after[alert.fingerprint] = TrackedAlert(status=alert.status, instance=instance_of(alert))
            admitted.append(alert)
    return after, admitted


def _evict_resolved(tracked: Tracked) -> bool:
    victim = next((fp for fp, mark in tracked.items() if mark.status is AlertStatus.RESOLVED), None)
    if victim is None:
        return False
    del tracked[victim]
    return True


def firing(tracked: Tracked) -> list[str]:
    """The instances of the tracked alerts that fire, one per alert."""
    return [mark.instance for mark in tracked.values() if mark.status is AlertStatus.FIRING]


def recorded(state: Incident, data: p.AlertsRecordedData) -> dict[str, Any]:
    """What an accepted `incident.alerts_recorded` changes: the tracked alerts and what they add up to.

    `alert_count` of a group's incident: the alerts it has recorded (tracked ones and untracked firing ones)."""
    tracked, _ = admit(state.group_alerts, data.alerts)
    instances = firing(tracked)
    return {
        "group_alerts": tracked,
        "alerts_firing": len(instances) + data.untracked_firing,
        "alerts_untracked_firing": data.untracked_firing,
        "firing_instances": tuple(sorted(set(instances))[:MAX_SHOWN_INSTANCES]),
        "alert_count": max(state.alert_count, len(tracked) + data.untracked_firing),
    }
