"""Alerts from monitoring: the payloads we accept, the deployment's mapping rules, and the normalized alert the
domain decides on (see `alert_decisions`). Pure: no I/O, no clock (the caller passes the time of receipt)."""

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from incidents_shared.domain import payloads as p
from incidents_shared.domain.alert_grouping_rules import GroupingRule
from incidents_shared.domain.enums import AlertStatus, Level
from incidents_shared.domain.taxonomy import Taxonomy, taxonomy_problem
from incidents_shared.domain.text import StorableModel, unstorable
from incidents_shared.domain.timeutil import UtcDateTime

DedupKey = Annotated[str, Field(min_length=1, max_length=300)]
Annotations = Annotated[
    dict[Annotated[str, Field(max_length=120)], Annotated[str, Field(max_length=20_000)]], Field(max_length=64)
]
Url = Annotated[str, Field(max_length=2_000)]


class _Frozen(StorableModel):
    """Frozen, no unknown fields, and only text the log can store: a NUL in an alert is that alert's 422."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Levels(_Frozen):
    impact: Level
    urgency: Level


class AlertPolicy(_Frozen):
    """How alerts act on incidents: auto-resolve, and the window in which a refiring alert reopens."""

    auto_resolve_unacknowledged: bool = True
    reopen_window_s: Annotated[int, Field(ge=0, le=30 * 24 * 3600)] = 3600


def _default_severities() -> dict[str, Levels]:
    return {
        "critical": Levels(impact=Level.HIGH, urgency=Level.HIGH),
        "warning": Levels(impact=Level.MEDIUM, urgency=Level.MEDIUM),
        "info": Levels(impact=Level.LOW, urgency=Level.LOW),
    }


class IncidentPer(StrEnum):
    """What one incident stands for: an Alertmanager notification group, or each alert on its own."""

    GROUP = "group"
    ALERT = "alert"


class AlertmanagerRoute(_Frozen):
    """A switch for Alertmanager notifications: those of `receiver` (when given) whose group's common labels
    include `labels` open one incident per `incident_per`. The first route that matches decides."""

    receiver: Annotated[str, Field(max_length=200)] | None = None
    labels: p.Labels = Field(default_factory=dict)
    incident_per: IncidentPer = IncidentPer.ALERT

    def matches(self, receiver: str, common_labels: dict[str, str]) -> bool:
        if self.receiver is not None and self.receiver != receiver:
            return False
        return all(common_labels.get(name) == value for name, value in self.labels.items())


class AlertMapping(_Frozen):
    """The deployment's alert rules (INCIDENTS_ALERT_MAPPING_FILE); the defaults work without a file.

    `version`: raise it with every change of the file; the events it decides record it."""

    version: Annotated[int, Field(ge=1)] = 1
    severities: dict[Annotated[str, Field(min_length=1, max_length=40)], Levels] = Field(
        default_factory=_default_severities
    )
    default_severity: str = "warning"
    severity_label: str = "severity"
    service_label: str = "service"
    category_label: str = "category"
    team_label: str = "team"
    default_service: p.Name = "unknown"
    dedup_labels: Annotated[list[str], Field(max_length=32)] = Field(default_factory=list)
    policy: AlertPolicy = Field(default_factory=AlertPolicy)
    max_alerts_per_request: Annotated[int, Field(ge=1, le=10_000)] = 500
    alertmanager_incident_per: IncidentPer = IncidentPer.GROUP
    alertmanager_routes: Annotated[list[AlertmanagerRoute], Field(max_length=100)] = Field(default_factory=list)
    grouping: Annotated[list[GroupingRule], Field(max_length=100)] = Field(default_factory=list)  # 0077

    @model_validator(mode="after")
    def _default_is_known(self) -> "AlertMapping":
        if self.default_severity.lower() not in self.severities:
            raise ValueError(f"default_severity {self.default_severity!r} is not one of {sorted(self.severities)}")
        if any(name != name.lower() for name in self.severities):
            raise ValueError("severity names are matched in lower case: write them in lower case")
        return self

    def levels(self, severity: str) -> Levels:
        return self.severities.get(severity.lower(), self.severities[self.default_severity.lower()])

    def incident_per(self, receiver: str, common_labels: dict[str, str]) -> IncidentPer:
        """Whether a notification of this receiver and group opens one incident per group or per alert."""
        route = next((r for r in self.alertmanager_routes if r.matches(receiver, common_labels)), None)
        return route.incident_per if route is not None else self.alertmanager_incident_per


class GenericAlert(_Frozen):
    """POST /v1/alerts: one alert of any monitoring tool."""

    dedup_key: DedupKey | None = None
    status: AlertStatus = AlertStatus.FIRING
    severity: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    summary: p.Title
    description: Annotated[str, Field(max_length=20_000)] = ""
    service: p.Name | None = None
    labels: p.Labels = Field(default_factory=dict)
    annotations: Annotations = Field(default_factory=dict)
    starts_at: UtcDateTime | None = None
    ends_at: UtcDateTime | None = None


class WebhookAlert(StorableModel):
    """One alert of an Alertmanager v4 webhook (Grafana sends the same shape, plus fields of its own)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    status: AlertStatus
    labels: p.Labels
    annotations: Annotations = Field(default_factory=dict)
    starts_at: UtcDateTime = Field(alias="startsAt")
    ends_at: UtcDateTime | None = Field(default=None, alias="endsAt")
    generator_url: Url = Field(default="", alias="generatorURL")
    fingerprint: DedupKey


class GrafanaAlert(WebhookAlert):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


RawAlerts = Annotated[list[Any], Field(max_length=10_000)]  # validated one by one: a bad alert fails alone


def _storable(value: Any) -> Any:
    """The envelope's own text must be storable (its alerts are checked one by one, each failing alone)."""
    if (problem := unstorable([value])) is not None:
        raise ValueError(problem)
    return value


class AlertmanagerWebhook(BaseModel):
    """The envelope of an Alertmanager webhook, version 4; its alerts are validated one by one."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    version: Literal["4"]
    group_key: Annotated[str, Field(max_length=5_000)] = Field(alias="groupKey")
    truncated_alerts: Annotated[int, Field(ge=0, le=1_000_000_000)] = Field(default=0, alias="truncatedAlerts")
    status: AlertStatus
    receiver: Annotated[str, Field(max_length=200)]
    group_labels: p.Labels = Field(default_factory=dict, alias="groupLabels")
    common_labels: p.Labels = Field(default_factory=dict, alias="commonLabels")
    common_annotations: Annotations = Field(default_factory=dict, alias="commonAnnotations")
    external_url: Url = Field(default="", alias="externalURL")
    alerts: RawAlerts

    _text = field_validator("group_key", "receiver", "group_labels", "common_labels", "common_annotations")(_storable)


class GrafanaWebhook(BaseModel):
    """The envelope of a Grafana alerting webhook; unknown fields are accepted (Grafana adds them over time)."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    status: AlertStatus | None = None
    receiver: Annotated[str, Field(max_length=200)] = ""
    alerts: RawAlerts


class NormalizedAlert(_Frozen):
    """An alert of any source, mapped by the deployment's rules: what the domain decides on."""

    source: p.Name
    dedup_key: DedupKey
    fingerprint: Annotated[str, Field(max_length=300)]
    status: AlertStatus
    severity: str
    summary: p.Title
    description: Annotated[str, Field(max_length=20_000)] = ""
    service: p.Name
    category: p.Name | None = None
    team: p.Name | None = None
    labels: p.Labels = Field(default_factory=dict)
    impact: Level
    urgency: Level
    starts_at: UtcDateTime
    ends_at: UtcDateTime | None = None
    runbook_url: Url | None = None


class AlertGroupNotice(_Frozen):
    """One notification of an Alertmanager group, its alerts normalized: what `ReceiveAlertGroup` decides on.

    `opening`: the incident the notification opens if its group has none (title, service, labels in common, the
    levels of its most severe firing alert); `truncated`: alerts Alertmanager left out (`max_alerts`)."""

    source: p.Name = "alertmanager"
    dedup_key: DedupKey
    receiver: Annotated[str, Field(max_length=200)]
    group_key: Annotated[str, Field(max_length=5_000)]
    status: AlertStatus
    truncated: Annotated[int, Field(ge=0)] = 0
    mapping_version: Annotated[int, Field(ge=1)] = 1
    opening: NormalizedAlert
    alerts: Annotated[list[NormalizedAlert], Field(max_length=10_000)]


def label_fingerprint(labels: dict[str, str], names: list[str] | None = None) -> str:
    """A stable fingerprint of the chosen labels (all of them when `names` is None)."""
    chosen = {n: labels.get(n, "") for n in names} if names is not None else labels
    return hashlib.sha256(json.dumps(chosen, sort_keys=True).encode()).hexdigest()[:32]


def summary_of(annotations: dict[str, str], labels: dict[str, str], fallback: str) -> str:
    """The title an alert gives: its summary or title annotation, else its alertname, else `fallback`."""
    text = annotations.get("summary") or annotations.get("title") or labels.get("alertname") or fallback
    return text[:200]


def _category(labels: dict[str, str], mapping: AlertMapping, taxonomy: Taxonomy) -> str | None:
    category = labels.get(mapping.category_label)
    return category if category and taxonomy_problem(taxonomy, category, None) is None else None


def normalize_fields(
    fields: dict[str, Any], labels: dict[str, str], mapping: AlertMapping, taxonomy: Taxonomy
) -> NormalizedAlert:
    """A NormalizedAlert of `fields`, its severity, service, category and team mapped from `labels`."""
    severity = fields.pop("severity", None) or labels.get(mapping.severity_label) or mapping.default_severity
    levels = mapping.levels(severity)
    service = fields.pop("service", None) or labels.get(mapping.service_label) or mapping.default_service
    return NormalizedAlert(
        severity=severity,
        service=service[:120],
        category=_category(labels, mapping, taxonomy),
        team=(labels.get(mapping.team_label) or None),
        labels=labels,
        impact=levels.impact,
        urgency=levels.urgency,
        **fields,
    )


def normalize_generic(
    alert: GenericAlert, mapping: AlertMapping, taxonomy: Taxonomy, received_at: datetime
) -> NormalizedAlert:
    fingerprint = label_fingerprint({**alert.labels, "__service": alert.service or "", "__summary": alert.summary})
    chosen = label_fingerprint(alert.labels, mapping.dedup_labels) if mapping.dedup_labels else fingerprint
    fields: dict[str, Any] = {
        "source": "generic",
        "dedup_key": alert.dedup_key or chosen,
        "fingerprint": fingerprint,
        "status": alert.status,
        "severity": alert.severity,
        "summary": alert.summary,
        "description": alert.description,
        "service": alert.service,
        "starts_at": alert.starts_at or received_at,
        "ends_at": alert.ends_at,
        "runbook_url": alert.annotations.get("runbook_url"),
    }
    return normalize_fields(fields, alert.labels, mapping, taxonomy)


def normalize_webhook(alert: WebhookAlert, source: str, mapping: AlertMapping, taxonomy: Taxonomy) -> NormalizedAlert:
    """An Alertmanager or Grafana alert; the dedup key is its own fingerprint unless labels are chosen."""
    key = label_fingerprint(alert.labels, mapping.dedup_labels) if mapping.dedup_labels else alert.fingerprint
    ends_at = alert.ends_at if alert.ends_at is not None and alert.ends_at.year > 1 else None  # 0001-01-01: unset
    fields: dict[str, Any] = {
        "source": source,
        "dedup_key": key,
        "fingerprint": alert.fingerprint,
        "status": alert.status,
        "summary": summary_of(alert.annotations, alert.labels, f"{source} alert {alert.fingerprint}"),
        "description": alert.annotations.get("description", ""),
        "starts_at": alert.starts_at,
        "ends_at": ends_at,
        "runbook_url": alert.annotations.get("runbook_url"),
    }
    return normalize_fields(fields, alert.labels, mapping, taxonomy)
