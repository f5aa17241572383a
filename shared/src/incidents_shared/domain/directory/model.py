"""The directory's resources: users (with ordered contact methods), teams and services. Frozen and validated.

Schedules are `oncall.Schedule`; their overrides are added and removed by commands of their own.
"""

import re
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from incidents_shared.domain.enums import ContactKind, Role
from incidents_shared.domain.text import StorableModel
from incidents_shared.domain.timeutil import TimeZoneName

_SLUG = re.compile(r"[a-z0-9._-]{1,64}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_URL = re.compile(r"https?://[^\s/]+\S*")
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,31}")  # a Slack member id, e.g. U2CERLKJA (W... on Enterprise Grid)
_SHORT_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
MAX_DELAY = timedelta(days=1)


def check_slug(value: str) -> str:
    if not _SLUG.fullmatch(value):
        raise ValueError(f"{value!r} is not an id: 1-64 of lowercase letters, digits, '-', '.', '_'")
    return value


def _email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise ValueError(f"{value!r} is not an email address")
    return value


def _url(value: str) -> str:
    if not _URL.fullmatch(value):
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


def _slack_user(value: str) -> str:
    if not _SLACK_USER.fullmatch(value):
        raise ValueError(f"{value!r} is not a Slack member id (U or W, then uppercase letters and digits)")
    return value


def _short_duration(value: Any) -> Any:
    """'5m', '1h30m', '90s', '0' -> timedelta; ISO 8601 ('PT5M') and numbers of seconds are left to pydantic."""
    if not isinstance(value, str) or value.startswith("P") or not value:
        return value
    if value == "0":
        return timedelta(0)
    match = _SHORT_DURATION.fullmatch(value)
    if match is None:
        raise ValueError(f"{value!r} is not a duration (ISO 8601 like PT5M, or 5m, 1h30m, 90s)")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def _delay_in_range(value: timedelta) -> timedelta:
    if not timedelta(0) <= value <= MAX_DELAY:
        raise ValueError(f"must be between 0 and {MAX_DELAY} (got {value})")
    return value


Id = Annotated[str, AfterValidator(check_slug)]
Name = Annotated[str, Field(min_length=1, max_length=120)]
Email = Annotated[str, Field(max_length=320), AfterValidator(_email)]
Url = Annotated[str, Field(max_length=2_000), AfterValidator(_url)]
Delay = Annotated[timedelta, BeforeValidator(_short_duration), AfterValidator(_delay_in_range)]
SlackUserId = Annotated[str, AfterValidator(_slack_user)]


class Kind(StrEnum):
    """The directory's kinds of resource."""

    USER = "user"
    TEAM = "team"
    SERVICE = "service"
    SCHEDULE = "schedule"
    TOKEN = "token"  # noqa: S105 (a kind of resource: a user's personal API token, not a secret)
    MAINTENANCE_WINDOW = "maintenance_window"  # docs/decisions/0076
    HEARTBEAT = "heartbeat"


_ADDRESS_CHECKS = {ContactKind.EMAIL: _email, ContactKind.WEBHOOK: _url}


class ContactMethod(StorableModel):
    """How to reach a user: `kind` at `address`, `delay` after the page if it is not acknowledged by then."""

    kind: ContactKind
    address: Annotated[str, Field(min_length=1, max_length=2_000)]
    delay: Delay = timedelta(0)

    @model_validator(mode="after")
    def _address_fits_kind(self) -> "ContactMethod":
        if (check := _ADDRESS_CHECKS.get(self.kind)) is not None:
            try:
                check(self.address)
            except ValueError as exc:
                raise ValueError(f"address: {exc} (for a {self.kind} contact method)") from None
        return self


class User(StorableModel):
    """A person who can be paged: contact methods are tried in order, each after its delay."""

    id: Id
    name: Name
    email: Email
    time_zone: TimeZoneName
    role: Role
    contact_methods: Annotated[list[ContactMethod], Field(max_length=10)] = Field(default_factory=list)
    # Who they are in Slack: its buttons and slash command act as them (decision 0080). Left out when unset, so
    # a user without one reads, and goes on the log, as before.
    slack_user_id: SlackUserId | None = Field(default=None, exclude_if=lambda value: value is None)

    @model_validator(mode="after")
    def _delays_in_order(self) -> "User":
        delays = [method.delay for method in self.contact_methods]
        if delays != sorted(delays):
            raise ValueError("contact_methods: delays must not decrease down the list (they are tried in order)")
        return self


class Team(StorableModel):
    """People who own services; `schedule` says who of them is on call, `policy` how their incidents escalate."""

    id: Id
    name: Name
    members: Annotated[list[Id], Field(max_length=500)] = Field(default_factory=list)
    schedule: Id | None = None
    policy: Name | None = None

    @model_validator(mode="after")
    def _members_unique(self) -> "Team":
        if repeated := sorted({m for m in self.members if self.members.count(m) > 1}):
            raise ValueError(f"members: repeated {', '.join(repeated)}")
        return self


class Service(StorableModel):
    """A catalogued service: an incident's `service` selects its owner team."""

    id: Id
    name: Name
    owner_team: Id
    tier: Annotated[int, Field(ge=1, le=4)] | None = None
    runbook_url: Url | None = None
