"""The schedule model: layers of rotations with optional restrictions, and overrides. Frozen and validated."""

from datetime import datetime, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, WithJsonSchema, field_validator

from incidents_shared.domain.oncall.turn import parse_turn
from incidents_shared.domain.timeutil import TimeZoneName, UtcDateTime

Name = Annotated[str, Field(min_length=1, max_length=120)]
UserId = Annotated[str, Field(min_length=1, max_length=120)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RESERVED_SOURCES = frozenset({"override", "gap"})


def _turn(value: str) -> str:
    parse_turn(value)
    return value


Turn = Annotated[str, AfterValidator(_turn)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _wall_clock(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("a restriction time is local wall-clock time: give it without an offset")
    return value


# A local wall-clock time ("09:00", "21:30:15"). Its JSON schema is a pattern, not `format: time`: RFC 3339's
# full-time needs an offset, which a wall-clock time must not have (clients validating responses would refuse it).
WALL_TIME_SCHEMA = {
    "type": "string",
    "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?$",
    "examples": ["09:00"],
}
WallTime = Annotated[time, AfterValidator(_wall_clock), WithJsonSchema(WALL_TIME_SCHEMA)]


class Daily(_Model):
    """On call every day from `start` to `end` local time; `end` before `start` crosses midnight."""

    kind: Literal["daily"]
    start: WallTime
    end: WallTime

    @field_validator("end")
    @classmethod
    def _not_empty(cls, value: time, info: ValidationInfo) -> time:
        if value == info.data.get("start"):
            raise ValueError("equals start; omit restrictions to be on call all day")
        return value


class Weekly(_Model):
    """On call from `start_day` `start` to the next `end_day` `end`, local time (may cross the week's end)."""

    kind: Literal["weekly"]
    start_day: Weekday
    start: WallTime
    end_day: Weekday
    end: WallTime

    @field_validator("end")
    @classmethod
    def _not_empty(cls, value: time, info: ValidationInfo) -> time:
        if (info.data.get("start_day"), info.data.get("start")) == (info.data.get("end_day"), value):
            raise ValueError("equals start; omit restrictions to be on call all week")
        return value


Restriction = Annotated[Daily | Weekly, Field(discriminator="kind")]


class Layer(_Model):
    """A rotation: `users` take turns of length `turn` from `start` (naive: local time in the schedule's zone)."""

    name: Name
    start: datetime
    turn: Turn
    users: Annotated[list[UserId], Field(min_length=1)]
    restrictions: list[Restriction] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_SOURCES:
            raise ValueError(f"{value!r} is reserved (a source of an answer); name the layer otherwise")
        return value


class Override(_Model):
    """`user` is on call from `start` to `end`, over every layer."""

    user: UserId
    start: UtcDateTime
    end: UtcDateTime

    @field_validator("end")
    @classmethod
    def _forward(cls, value: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is not None and value <= start:
            raise ValueError("must be after start (an override covers [start, end))")
        return value


class Schedule(_Model):
    """Layers (later ones win where they have someone) and overrides (win over every layer), in `time_zone`."""

    id: Name
    name: Name
    time_zone: TimeZoneName
    layers: Annotated[list[Layer], Field(min_length=1)]
    overrides: list[Override] = Field(default_factory=list)

    @field_validator("layers")
    @classmethod
    def _unique_names(cls, value: list[Layer]) -> list[Layer]:
        names = [layer.name for layer in value]
        if duplicates := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"layer names must be unique; repeated: {', '.join(duplicates)}")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)
