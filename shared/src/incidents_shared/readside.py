"""Names the read side's writers and readers agree on: locks and notification channels."""

# Every projector batch holds this advisory lock shared for its transaction; releasing a parked incident and
# swapping a rebuilt schema take it exclusively, so neither interleaves with a batch (docs/decisions/0023).
READ_MODEL_LOCK = 0x1AC1D4
# NOTIFY payload: the highest stream position a committed batch assigned (docs/decisions/0021).
STREAM_CHANNEL = "incident_stream"
# NOTIFY after a schema swap: pools drop their connections, whose prepared statements name old tables.
SWAP_CHANNEL = "read_model_swapped"
# The API asks the projector to release a parked incident (table release_requests).
RELEASE_CHANNEL = "release_requests"
