"""Escalation policies: SLA targets, escalation steps, overrides, calendars and channels. Pure.

A policy is versioned: an incident keeps the policy id + version recorded on its `incident.sla_targets_set`,
so editing the file later never changes a running incident. Channels (where notifications go) are deployment
configuration and are left out of the content hash; everything that decides *when* and *whom* is in it.
"""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from incidents_shared.domain.codec import canonical_json
from incidents_shared.domain.enums import Priority
from incidents_shared.domain.payloads import MAX_ESCALATION_LEVEL
from incidents_shared.domain.sla import BusinessHours, add_time, parse_duration
from incidents_shared.domain.timeutil import TimeZoneName

Loc = tuple[str | int, ...]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _duration(value: Any) -> Any:
    if isinstance(value, str) and not value.startswith("P"):  # "P..." is ISO 8601, as stored in the database
        return parse_duration(value)
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration), Field(ge=timedelta(0))]
Name = Annotated[str, Field(min_length=1, max_length=120)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ChannelKind(StrEnum):
    WEBHOOK = "webhook"  # generic JSON body
    SLACK = "slack"  # Slack-compatible incoming webhook: {"text": ...}
    EMAIL = "email"  # over SMTP (INCIDENTS_SMTP_URL), to the mailbox of a `mailto:` URL (docs/decisions/0078)


_MAILTO = "mailto:"


class Channel(_Model):
    """Where a team's or an audience's notifications go: an http(s) URL for webhook and slack, `mailto:<mailbox>`
    for email (e.g. `{kind: email, url: "mailto:ops@example.com"}`)."""

    kind: ChannelKind
    url: Annotated[str, Field(pattern=r"^(https?://|mailto:[^@\s/]+@)[^\s]+$", max_length=2_000)]

    @model_validator(mode="after")
    def _url_fits_kind(self) -> "Channel":
        if (self.kind is ChannelKind.EMAIL) != self.url.startswith(_MAILTO):
            raise ValueError("an email channel's url is mailto:<mailbox>; webhook and slack take an http(s) URL")
        return self

    def destination(self) -> str:
        """Where the sender delivers: the URL, or the mailbox of an email channel."""
        return self.url.removeprefix(_MAILTO) if self.kind is ChannelKind.EMAIL else self.url


class Team(_Model):
    channels: list[Name] = Field(default_factory=list)


class Calendar(_Model):
    timezone: TimeZoneName
    days: Annotated[list[str], Field(min_length=1)]
    opens: time
    closes: time

    @field_validator("days")
    @classmethod
    def _weekdays(cls, value: list[str]) -> list[str]:
        if unknown := [d for d in value if d not in WEEKDAYS]:
            raise ValueError(f"unknown days {unknown}; use {', '.join(WEEKDAYS)}")
        return value

    def hours(self) -> BusinessHours:
        return BusinessHours(self.timezone, frozenset(WEEKDAYS.index(d) for d in self.days), self.opens, self.closes)


class Step(_Model):
    """After `after` without acknowledgement (counted from logging), escalate to `level` and page its target.

    `team`: whoever is on call on the team's schedule (else all its members) and the team's channels here;
    `schedule`: whoever is on call on it; `user`: that person. None of them: the team that owns the incident's
    service in the directory (an uncatalogued service: INCIDENTS_DEFAULT_TEAM). Level 1 may fire at `after: 0s`.
    """

    after: Duration
    level: Annotated[int, Field(ge=1, le=MAX_ESCALATION_LEVEL)]
    team: Name | None = None
    schedule: Name | None = None
    user: Name | None = None

    @model_validator(mode="after")
    def _one_target(self) -> "Step":
        if sum(target is not None for target in (self.team, self.schedule, self.user)) > 1:
            raise ValueError("a step targets one of team, schedule or user (none: the incident's owning team)")
        return self

    def target(self) -> dict[str, str]:
        """The step's target as a timer's payload: {"team": ...}, {"schedule": ...}, {"user": ...} or {}."""
        named = {"team": self.team, "schedule": self.schedule, "user": self.user}
        return {key: value for key, value in named.items() if value is not None}


class Repeat(_Model):
    """After the last step, page its team again `times` times, `every` apart, one level higher each time."""

    times: Annotated[int, Field(ge=1, le=10)]
    every: Duration


class MajorRule(_Model):
    """A priority that makes an incident major `after` its logging; the escalator declares it and pages `notify`."""

    after: Duration = timedelta(0)
    notify: Name


class PriorityRule(_Model):
    acknowledge: Duration
    resolve: Duration
    calendar: Name | None = None  # None: the clock runs 24x7
    steps: list[Step] = Field(default_factory=list)
    repeat: Repeat | None = None
    major: MajorRule | None = None


class Storm(_Model):
    """No paging storms: per person, at most `max_pages` pages of policy steps within `window`; the pages beyond
    are held and listed in one digest page at the window's end (domain.escalation.storm, docs/decisions/0075)."""

    window: Annotated[timedelta, BeforeValidator(_duration), Field(gt=timedelta(0), le=timedelta(days=1))]
    max_pages: Annotated[int, Field(ge=1, le=1_000)]


class Match(_Model):
    category: Name | None = None
    service: Name | None = None

    def matches(self, category: str | None, service: str | None) -> bool:
        return (self.category is None or self.category == category) and (
            self.service is None or self.service == service
        )


class Override(_Model):
    """Send some levels to other teams for matching incidents (later overrides win)."""

    match: Match
    teams: dict[Annotated[int, Field(ge=1, le=MAX_ESCALATION_LEVEL)], Name]


@dataclass(frozen=True)
class PlannedStep:
    level: int
    due_at: datetime
    target: dict[str, str]  # Step.target()


class Policy(_Model):
    """One version of an escalation policy."""

    id: Name
    version: Annotated[int, Field(ge=1)]
    calendars: dict[Name, Calendar] = Field(default_factory=dict)
    channels: dict[Name, Channel] = Field(default_factory=dict)
    teams: dict[Name, Team] = Field(default_factory=dict)
    priorities: dict[Priority, PriorityRule]
    overrides: list[Override] = Field(default_factory=list)
    stakeholders: dict[Name, list[Name]] = Field(default_factory=dict)  # audience -> channels; "*" = any other
    storm: Storm | None = None  # None: every page goes out (a policy without it hashes as before it existed)

    @property
    def key(self) -> tuple[str, int]:
        return (self.id, self.version)

    def content_hash(self) -> str:
        """sha256 over everything but the channels: what must not change without a new version."""
        left_out = {"channels"} | ({"storm"} if self.storm is None else set())
        return hashlib.sha256(canonical_json(self.model_dump(mode="json", exclude=left_out))).hexdigest()

    def rule(self, priority: Priority | None) -> PriorityRule | None:
        """The rule for `priority`; None means no SLA and no escalation steps for it (docs/decisions/0066)."""
        return self.priorities.get(priority) if priority is not None else None

    def hours(self, priority: Priority) -> BusinessHours | None:
        rule = self.rule(priority)
        return self.calendars[rule.calendar].hours() if rule is not None and rule.calendar else None

    def targets(self, priority: Priority, start: datetime) -> tuple[datetime, datetime]:
        """(acknowledge due, resolve due) for an incident of `priority` whose clocks start at `start`."""
        rule, hours = self.priorities[priority], self.hours(priority)
        return add_time(start, rule.acknowledge, hours), add_time(start, rule.resolve, hours)

    def schedule(self, priority: Priority, start: datetime) -> list[PlannedStep]:
        """Every escalation step with its due time, repeats included, in order."""
        rule, hours = self.priorities[priority], self.hours(priority)
        planned = [PlannedStep(s.level, add_time(start, s.after, hours), s.target()) for s in rule.steps]
        if rule.repeat and rule.steps:
            last, after = rule.steps[-1], rule.steps[-1].after
            for n in range(1, rule.repeat.times + 1):
                level = last.level + n
                if level > MAX_ESCALATION_LEVEL:
                    break
                due = add_time(start, after + n * rule.repeat.every, hours)
                planned.append(PlannedStep(level, due, last.target()))
        return planned

    def team_for(self, level: int, default: str, category: str | None, service: str | None) -> str:
        team = default
        for override in self.overrides:
            if override.match.matches(category, service) and level in override.teams:
                team = override.teams[level]
        return team

    def team_channels(self, team: str) -> list[tuple[str, Channel]]:
        known = self.teams.get(team)
        return [(name, self.channels[name]) for name in known.channels] if known else []

    def unreachable(self, team: str) -> str | None:
        """Why `team` has no channel under this policy, or None when it has one (people are paged apart)."""
        if team not in self.teams:
            known = ", ".join(sorted(self.teams))
            return f"unknown team {team!r}: no channels for it in policy {self.id} v{self.version} (its teams: {known})"
        if not self.teams[team].channels:
            return f"team {team!r} has no channels in policy {self.id} v{self.version}"
        return None

    def audience_channels(self, audience: str) -> list[tuple[str, Channel]]:
        names = self.stakeholders.get(audience, self.stakeholders.get("*", []))
        return [(name, self.channels[name]) for name in names]


def reference_problems(policy: Policy) -> Iterator[tuple[Loc, str]]:
    """Names that point at nothing: (where in the document, what is wrong)."""

    def team(loc: Loc, name: str) -> Iterator[tuple[Loc, str]]:
        if name not in policy.teams:
            yield loc, f"unknown team {name!r}; define it under teams"

    for name, t in policy.teams.items():
        for i, channel in enumerate(t.channels):
            if channel not in policy.channels:
                yield ("teams", name, "channels", i), f"unknown channel {channel!r}; define it under channels"
    for prio, rule in policy.priorities.items():
        at: Loc = ("priorities", prio.value)
        if rule.calendar and rule.calendar not in policy.calendars:
            yield (*at, "calendar"), f"unknown calendar {rule.calendar!r}; define it under calendars"
        for i, step in enumerate(rule.steps):  # a step's team may be a team of the directory: checked when paged
            if i and (step.level <= rule.steps[i - 1].level or step.after < rule.steps[i - 1].after):
                yield (*at, "steps", i), "steps must go up in level and not back in time"
        if rule.major:
            yield from team((*at, "major", "notify"), rule.major.notify)
    for i, override in enumerate(policy.overrides):
        if override.match.category is None and override.match.service is None:
            yield ("overrides", i, "match"), "match needs a category or a service"
    for audience, names in policy.stakeholders.items():
        for i, channel in enumerate(names):
            if channel not in policy.channels:
                yield ("stakeholders", audience, i), f"unknown channel {channel!r}; define it under channels"
