"""Grouping rules of the alert mapping (`grouping:`): which generic and Grafana alerts join one incident. Pure.

A rule matches an alert by its source, service and labels (each optional); alerts it matches with the same
service and the same values of the labels it names (`by`) join one open incident while alerts keep coming:
within `window` of the group's last recorded alert (docs/decisions/0077)."""

import re
from typing import Annotated, Any

from pydantic import ConfigDict, Field, field_validator

from incidents_shared.domain import payloads as p
from incidents_shared.domain.text import StorableModel

GROUPABLE_SOURCES = ("generic", "grafana")  # Alertmanager alerts come grouped already (0074)
MAX_WINDOW_S = 24 * 3600
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h)?\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600}


def duration_s(value: Any) -> Any:
    """`300`, `"300s"`, `"5m"` or `"1h"` as seconds; other text is refused, other values left to validation."""
    if not isinstance(value, str):
        return value
    if (found := _DURATION.match(value)) is None:
        raise ValueError("a window is a number of seconds, or like 30s, 5m, 1h")
    return int(found.group(1)) * _UNIT_S[found.group(2) or "s"]


class GroupingMatch(StorableModel):
    """Which alerts a rule is for: all of them unless it names a source, a service or labels they must have."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    source: Annotated[str, Field(pattern="^(generic|grafana)$")] | None = None
    service: p.Name | None = None
    labels: p.Labels = Field(default_factory=dict)

    def matches(self, source: str, service: str, labels: dict[str, str]) -> bool:
        if source not in GROUPABLE_SOURCES or (self.source is not None and self.source != source):
            return False
        if self.service is not None and self.service != service:
            return False
        return all(labels.get(name) == value for name, value in self.labels.items())


class GroupingRule(StorableModel):
    """`{match: {source?, service?, labels?}, by: [label, ...], window: 5m}`: the first rule that matches decides."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    match: GroupingMatch = Field(default_factory=GroupingMatch)
    by: Annotated[list[Annotated[str, Field(min_length=1, max_length=120)]], Field(max_length=32)] = Field(
        default_factory=list
    )
    window: Annotated[int, Field(ge=1, le=MAX_WINDOW_S, description="seconds, or 30s, 5m, 1h")] = 300

    _window = field_validator("window", mode="before")(duration_s)
