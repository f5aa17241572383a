"""The escalator: SLA timers, the escalation matrix and notifications, driven by the incident log."""
