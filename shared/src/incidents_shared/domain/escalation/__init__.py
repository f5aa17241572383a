"""The escalation rules, pure: policies, when clocks start and stop, which step fires, who is told, and the
simulator that runs them on a driven clock. The escalator service adds only its adapters (consumer, store,
timer loop, sender)."""
