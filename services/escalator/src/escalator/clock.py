"""The clock the escalator reads; injected so that tests drive time instead of sleeping."""

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Where "now" comes from."""

    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
