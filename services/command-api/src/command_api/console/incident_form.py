"""The new-incident form, pure: its fields read into a `LogIncident`, and the priority preview beside it.

The priority comes from the domain's matrix (`priority_for`), the SLA targets from the escalation policy in force
(`Policy.targets`), the owner team and runbook from the directory's service catalog: one place for each, no copy.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import ValidationError

from incidents_shared.charts import duration
from incidents_shared.domain.commands import LogIncident
from incidents_shared.domain.directory.model import Service
from incidents_shared.domain.enums import Level, Priority
from incidents_shared.domain.escalation.policy import Policy
from incidents_shared.domain.priority import priority_for
from incidents_shared.domain.taxonomy import Taxonomy, taxonomy_problem

FIELDS = ("title", "description", "service", "category", "subcategory", "impact", "urgency", "runbook_url")
DATED = "detected_at"
LABELS = "labels"
LABELS_MAX = 50


@dataclass(frozen=True)
class FormError:
    """The field a person has to fix, and what is wrong with it."""

    field: str
    text: str


def read_form(fields: Mapping[str, str], taxonomy: Taxonomy) -> LogIncident | FormError:
    """The command a submitted form asks for, or the first field that is wrong (empty fields are left out)."""
    command = _command(fields)
    if isinstance(command, FormError):
        return command
    if (problem := taxonomy_problem(taxonomy, command.category, command.subcategory)) is not None:
        wrong = "category" if command.category is not None and command.category not in taxonomy else "subcategory"
        return FormError(wrong, problem)
    return command


def _command(fields: Mapping[str, str]) -> LogIncident | FormError:
    body: dict[str, object] = {k: fields[k].strip() for k in (*FIELDS, DATED) if fields.get(k, "").strip()}
    labels = parse_labels(fields.get(LABELS, ""))
    if labels is None:
        return FormError(LABELS, "write one key=value per line")
    body[LABELS] = labels
    try:
        return LogIncident.model_validate(body)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or _pair_field(body)
        return FormError(field, str(error["msg"]))


def _pair_field(body: Mapping[str, object]) -> str:
    """A model-level error is the impact/urgency pair: name the one that is missing."""
    return "urgency" if "impact" in body else "impact"


def parse_labels(text: str) -> dict[str, str] | None:
    """`key=value` lines (blank lines skipped); None when a line has no `=` or an empty key, or too many."""
    labels: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            return None
        labels[key.strip()] = value.strip()
    return labels if len(labels) <= LABELS_MAX else None


def level_of(text: str | None) -> Level | None:
    try:
        return Level(text) if text else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Targets:
    """The SLA targets a priority gets under a policy, for an incident logged at `start`."""

    policy: str  # "id vN"
    acknowledge: str  # a duration as people read it: "15m", "4h"
    resolve: str
    acknowledge_by: datetime
    resolve_by: datetime
    calendar: str | None  # None: the clocks run 24x7


@dataclass(frozen=True)
class Preview:
    """What the form shows beside impact and urgency: priority, SLA targets, the service's owner and runbook."""

    priority: Priority | None
    targets: Targets | None
    policy_known: bool
    service_id: str
    service: Service | None


def preview(fields: Mapping[str, str], policy: Policy | None, catalog: Mapping[str, Service], now: datetime) -> Preview:
    impact, urgency = level_of(fields.get("impact")), level_of(fields.get("urgency"))
    priority = priority_for(impact, urgency) if impact and urgency else None
    service_id = fields.get("service", "").strip()
    targets = targets_for(policy, priority, now) if policy and priority else None
    return Preview(priority, targets, policy is not None, service_id, catalog.get(service_id))


def targets_for(policy: Policy, priority: Priority, now: datetime) -> Targets | None:
    """None when the policy sets no SLA for the priority."""
    rule = policy.rule(priority)
    if rule is None:
        return None
    ack_by, resolve_by = policy.targets(priority, now)
    label = f"{policy.id} v{policy.version}"
    return Targets(label, _duration(rule.acknowledge), _duration(rule.resolve), ack_by, resolve_by, rule.calendar)


def _duration(delta: timedelta) -> str:
    return duration(delta.total_seconds())
