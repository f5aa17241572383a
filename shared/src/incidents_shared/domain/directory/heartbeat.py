"""Heartbeats, a kind of the directory (docs/decisions/0076): a job that promises to ping every `interval`.

No ping within `interval` + `grace` of the last one (or of the registration, for a heartbeat never pinged) is
an outage: an incident for `service` at `priority` (the rules of time are in `domain.heartbeats`).
"""

from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from incidents_shared.domain.directory.model import Id
from incidents_shared.domain.enums import Priority
from incidents_shared.domain.payloads import Name
from incidents_shared.domain.sla import parse_duration
from incidents_shared.domain.text import StorableModel
from incidents_shared.domain.timeutil import UtcDateTime

MIN_INTERVAL, MAX_SPAN = timedelta(seconds=5), timedelta(days=31)


def _duration(value: Any) -> Any:
    """'10s', '5m', '1h', '2d' -> timedelta; ISO 8601 ('PT10S') and numbers of seconds are left to pydantic."""
    if isinstance(value, str) and not value.startswith("P"):
        try:
            return parse_duration(value)
        except OverflowError:
            raise ValueError(f"{value!r} is too long") from None
    return value


def _between(low: timedelta, high: timedelta) -> Any:
    def check(value: timedelta) -> timedelta:
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high} (got {value})")
        return value

    return check


Interval = Annotated[timedelta, BeforeValidator(_duration), AfterValidator(_between(MIN_INTERVAL, MAX_SPAN))]
Grace = Annotated[timedelta, BeforeValidator(_duration), AfterValidator(_between(timedelta(0), MAX_SPAN))]


class Heartbeat(StorableModel):
    """A heartbeat by its name (its id in the directory).

    `registered_at` is set by the directory's fold at the first registration (a replacement keeps it); commands
    never carry it.
    """

    name: Id
    interval: Interval
    grace: Grace
    service: Name
    priority: Priority = Priority.P3
    registered_at: UtcDateTime | None = None

    @property
    def id(self) -> str:
        """The directory's id of the resource: its name."""
        return self.name
