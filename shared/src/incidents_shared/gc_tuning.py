"""Garbage-collector settings: for the readers that fold the log in large batches, and for the API."""

import gc

# A catch-up batch keeps every object it allocates (records, events, states, rows) alive until it is written,
# and each full collection walks the whole heap: with CPython's default thresholds the projector spent about
# half its catch-up CPU in the collector (bench/profiles/projector.md). Cycles are still collected, less often.
YOUNG_THRESHOLD = 10_000
MIDDLE_THRESHOLD = 20
OLD_THRESHOLD = 100


def tune_for_batches() -> None:
    """Move what start-up allocated out of the collector's sight and collect the older generations less often."""
    gc.freeze()
    gc.set_threshold(max(gc.get_threshold()[0], YOUNG_THRESHOLD), MIDDLE_THRESHOLD, OLD_THRESHOLD)


def freeze_startup() -> None:
    """For a request-serving process: once start-up is done, keep its objects (the app, routes, pydantic schemas,
    pools) out of every later collection, so a full collection walks only what requests allocated and a
    request that triggers one waits less (the tail of the latency figures in BENCHMARKS.md)."""
    gc.collect()
    gc.freeze()
