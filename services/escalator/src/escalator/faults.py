"""Fault injection for tests only: die like `kill -9` at the worst moments. Never enabled in production."""

import os
import sys

import structlog

log = structlog.get_logger(__name__)
CRASH_EXIT_CODE = 137  # what a kill -9 looks like to a supervisor


def crash_now(reason: str, **fields: str) -> None:
    """Log why, flush, and exit at once: no finally blocks, no commit, no clean Kafka leave."""
    log.warning("fault_injected", reason=reason, **fields)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(CRASH_EXIT_CODE)
