"""The escalator's Prometheus metrics."""

from prometheus_client import Counter, Gauge, Histogram

TIMERS_ARMED = Counter("escalator_timers_armed_total", "Timers armed", ["kind"])
TIMERS_DUE = Gauge("escalator_timers_due", "Pending timers that are due, at the last tick")
TIMERS_PENDING = Gauge(
    "escalator_timers_pending", "Pending timers of the partitions this instance owns (counted every 10 s)"
)
TIMERS_FIRED = Counter("escalator_timers_fired_total", "Timers whose event the log acknowledged", ["kind"])
TIMERS_PARKED = Counter(
    "escalator_timers_parked_total", "Timers set aside because their event could not be built (status 'parked')"
)
TIMER_LATENESS = Histogram(
    "escalator_timer_lateness_seconds",
    "From due to the log's acknowledgement",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
NOTIFICATIONS = Counter(
    "escalator_notifications_total",
    "Notification outcomes: sent, error (will retry or failed), undeliverable (no channel), drill (never sent)",
    ["outcome"],
)
