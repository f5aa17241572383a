"""Maintenance windows, a kind of the directory (docs/decisions/0076), and the pure rules of what they hold.

A window names `services` and/or label `matchers` (`env=staging`). An alert matches it when its service is one
of the window's services (if it names any) and every matcher holds on the alert's labels (if it names any). It
is active over [start, end) unless cancelled first; an ended or cancelled window stays in the directory as
history. Pure: the time is always passed in.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AfterValidator, AwareDatetime, Field, PlainSerializer, model_validator

from incidents_shared.domain.directory.model import Id
from incidents_shared.domain.payloads import Name
from incidents_shared.domain.text import StorableModel
from incidents_shared.domain.timeutil import UtcDateTime, format_utc, to_utc

MAX_LENGTH = timedelta(days=31)
# The instants a window may name: the years the log's canonical time text writes and reads back alike.
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)
_MATCHER = re.compile(r"([^=\s]{1,120})=(.{0,1000})", re.DOTALL)

Subject = tuple[str, Mapping[str, str]]  # what a window is matched against: an alert's service and labels


class WindowStatus(StrEnum):
    SCHEDULED = "scheduled"  # its start is still ahead
    ACTIVE = "active"  # holding what it matches
    ENDED = "ended"  # past its end: history
    CANCELLED = "cancelled"  # cancelled (DELETE) before its end: history


def _matcher(value: str) -> str:
    if not _MATCHER.fullmatch(value):
        raise ValueError(f"{value!r} is not a matcher: write label=value (e.g. env=staging)")
    return value


def _on_the_calendar(value: datetime) -> datetime:
    try:
        utc = to_utc(value)
    except OverflowError:
        raise ValueError("out of range") from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError(f"must lie between {EARLIEST.year} and {LATEST.year - 1}")
    return utc


Matcher = Annotated[str, AfterValidator(_matcher)]
WindowTime = Annotated[
    AwareDatetime, AfterValidator(_on_the_calendar), PlainSerializer(format_utc, return_type=str, when_used="json")
]


class MaintenanceWindow(StorableModel):
    """Alerts it matches while active are held: recorded, but they open no incident and page no one.

    `cancelled_at` is set by the directory's fold when the window is cancelled; commands never carry it.
    """

    id: Id
    services: Annotated[list[Name], Field(max_length=50)] = Field(default_factory=list)
    matchers: Annotated[list[Matcher], Field(max_length=20)] = Field(default_factory=list)
    start: WindowTime
    end: WindowTime
    reason: Annotated[str, Field(min_length=1, max_length=2_000)]
    cancelled_at: UtcDateTime | None = None

    @model_validator(mode="after")
    def _a_bounded_span_over_something(self) -> Self:
        if not self.services and not self.matchers:
            raise ValueError("services: name services, matchers or both (a window over everything is not taken)")
        if self.end <= self.start:
            raise ValueError("end: must be after start")
        if self.end - self.start > MAX_LENGTH:
            raise ValueError(f"end: a window lasts at most {MAX_LENGTH.days} days")
        return self

    @property
    def closes_at(self) -> datetime:
        """When it stops holding: its end, or its cancellation if that came first."""
        return min(self.end, self.cancelled_at) if self.cancelled_at is not None else self.end

    def status_at(self, at: datetime) -> WindowStatus:
        if self.cancelled_at is not None and self.cancelled_at <= at and self.cancelled_at < self.end:
            return WindowStatus.CANCELLED
        if at >= self.end:
            return WindowStatus.ENDED
        return WindowStatus.ACTIVE if at >= self.start else WindowStatus.SCHEDULED

    def active_at(self, at: datetime) -> bool:
        return self.status_at(at) is WindowStatus.ACTIVE

    def matches(self, service: str, labels: Mapping[str, str]) -> bool:
        """Whether an alert of `service` with `labels` is one this window is about (active or not)."""
        if self.services and service not in self.services:
            return False
        return all(labels.get(name) == value for name, value in map(split_matcher, self.matchers))


def split_matcher(matcher: str) -> tuple[str, str]:
    name, _, value = matcher.partition("=")
    return name, value


def holding(
    windows: Iterable[MaintenanceWindow], subjects: Sequence[Subject], at: datetime
) -> MaintenanceWindow | None:
    """The window that holds alerts of these subjects at `at`: one active window must match every one of them.

    Of several, the one that closes last (then the smallest id), so a held alert waits for the last of them.
    """
    if not subjects:
        return None
    matching = [w for w in windows if w.active_at(at) and all(w.matches(s, labels) for s, labels in subjects)]
    return min(matching, key=lambda w: (-w.closes_at.timestamp(), w.id), default=None)
