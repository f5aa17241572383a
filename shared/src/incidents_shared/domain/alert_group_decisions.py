"""What a notification of an Alertmanager group means for the group's incident. Pure: no I/O, no clock.

Only what changed is recorded: an alert the incident tracks with the same status is left out, so the re-sends
of an unchanged group (every `group_interval` / `repeat_interval`) append nothing. The incident's priority rises
with a more severe alert that starts firing and is never lowered by alerts (docs/decisions/0074); it resolves
when the last of its alerts resolves, under the auto-resolve rules of single alerts (`alert_decisions`).
"""

from datetime import datetime

from incidents_shared.domain import events as e
from incidents_shared.domain import payloads as p
from incidents_shared.domain.alert_decisions import Draft, left_open_because, opening_drafts, reopens
from incidents_shared.domain.alert_groups import is_firing, most_severe, parts, recorded
from incidents_shared.domain.alert_tracking import Tracked, admit, firing
from incidents_shared.domain.alerts import AlertGroupNotice, AlertPolicy, NormalizedAlert
from incidents_shared.domain.enums import AlertStatus, NoteKind, ResolutionCode
from incidents_shared.domain.priority import is_higher, priority_for
from incidents_shared.domain.state import Incident


def group_drafts(
    state: Incident | None, notice: AlertGroupNotice, policy: AlertPolicy, reporter: str, now: datetime
) -> list[Draft]:
    """The events a notification means for the incident of its group; empty when it changes nothing."""
    admitted, tracked, untracked = record(state, notice)
    records = _records(state, notice, admitted, untracked)
    if state is None:
        return [*opening_drafts(notice.opening, reporter), *records] if firing(tracked) or untracked else []
    started = [alert for alert in admitted if is_firing(alert)]
    if not state.is_open:
        if not started or not reopens(state, policy, now):
            return records
        reason = f"alert group {notice.dedup_key} fired again after auto-resolve"[:2000]
        return [(e.IncidentReopened, p.ReopenedData(reason=reason)), *_raised(state, started), *records]
    still_firing = len(firing(tracked)) + untracked
    ended = state.alerts_firing > 0 and still_firing == 0
    return [*_raised(state, started), *records, *(_all_resolved(state, notice, policy) if ended else [])]


def record(state: Incident | None, notice: AlertGroupNotice) -> tuple[list[NormalizedAlert], Tracked, int]:
    """The notice's alerts to record (new or changed, and tracked), the tracked alerts after them, and how many
    of its firing alerts stay untracked (beyond the bound, or left out by Alertmanager)."""
    before = state.group_alerts if state is not None else {}
    latest = {alert.fingerprint: alert for alert in notice.alerts}  # a fingerprint twice: the last one counts
    changes = [a for fp, a in latest.items() if (mark := before.get(fp)) is None or mark.status is not a.status]
    tracked, admitted = admit(before, [recorded(alert) for alert in changes])
    untracked = sum(1 for fp, alert in latest.items() if is_firing(alert) and fp not in tracked)
    if notice.status is AlertStatus.FIRING:
        untracked += notice.truncated
    return [latest[alert.fingerprint] for alert in admitted], tracked, untracked


def _records(
    state: Incident | None, notice: AlertGroupNotice, admitted: list[NormalizedAlert], untracked: int
) -> list[Draft]:
    """incident.alerts_recorded in parts; none when no alert changed and the untracked count stands."""
    if not admitted and (state is None or untracked == state.alerts_untracked_firing):
        return []
    chunks = parts([recorded(alert) for alert in admitted])
    return [
        (
            e.AlertsRecorded,
            p.AlertsRecordedData(
                source=notice.source,
                dedup_key=notice.dedup_key,
                receiver=notice.receiver,
                group_key=notice.group_key,
                mapping_version=notice.mapping_version,
                part=index + 1,
                parts=len(chunks),
                alerts=chunk,
                untracked_firing=untracked,
            ),
        )
        for index, chunk in enumerate(chunks)
    ]


def _raised(state: Incident, started: list[NormalizedAlert]) -> list[Draft]:
    """A more severe alert started firing: the priority follows it (unless a manager overrode the priority)."""
    if not started or state.priority_overridden:
        return []
    worst = most_severe(started)
    priority = priority_for(worst.impact, worst.urgency)
    if not is_higher(priority, state.priority):
        return []
    return [(e.IncidentPrioritized, p.PrioritizedData(impact=worst.impact, urgency=worst.urgency, priority=priority))]


def _all_resolved(state: Incident, notice: AlertGroupNotice, policy: AlertPolicy) -> list[Draft]:
    """The last alert of the group resolved: auto-resolve, or say in the timeline why the incident stays open."""
    group = f"{notice.source} group {notice.group_key}"
    if (why := left_open_because(state, notice.dedup_key, policy)) is None:
        summary = f"Auto-resolved: every alert of {group} resolved at the source"
        return [(e.IncidentResolved, p.ResolvedData(resolution_code=ResolutionCode.AUTO_RESOLVED, summary=summary))]
    text = f"Every alert of {group} resolved at the source; left open because {why}."
    return [(e.NoteAdded, p.NoteAddedData(kind=NoteKind.NOTE, text=text[:20_000]))]
