"""Names the services agree on inside PostgreSQL: advisory lock ids and LISTEN/NOTIFY channels, all here."""

# Advisory locks (pg_advisory_lock ids). Each value is used for one purpose only.
MIGRATION_LOCK = 0x1AC1DE  # one migrator at a time
# Every projector batch holds this lock shared for its transaction; releasing a parked incident and swapping a
# rebuilt schema take it exclusively, so neither interleaves with a batch (docs/decisions/0023).
READ_MODEL_LOCK = 0x1AC1D4
# Every escalator batch holds this lock shared; following a release takes it exclusively (docs/decisions/0062).
FOLD_LOCK = 0x1AC1D5

# Channels (NOTIFY payloads in brackets). A listener may miss notifications while it reconnects, so every user
# re-checks after a reconnect (incidents_shared.listen).
STREAM_CHANNEL = "incident_stream"  # [the highest stream position a committed batch assigned] (decision 0021)
VERDICT_CHANNEL = "incident_verdicts"  # [the event id the projector judged]
SWAP_CHANNEL = "read_model_swapped"  # [the retired schema] pools drop connections whose statements name old tables
RELEASE_CHANNEL = "release_requests"  # [request id] the API asks the projector to release a parked incident
RELEASED_CHANNEL = "incident_released"  # [incident key] the projector released a parked incident: the escalator follows
