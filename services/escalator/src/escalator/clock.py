"""The clock the escalator reads; injected so that tests drive time instead of sleeping."""

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Where "now" comes from."""

    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""


class SystemClock:
    """The machine's clock, optionally skewed (fault injection: INCIDENTS_ESCALATOR_CLOCK_SKEW_S)."""

    def __init__(self, skew_s: float = 0.0) -> None:
        self.skew = timedelta(seconds=skew_s)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.skew
