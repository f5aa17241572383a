"""The projector's Python work per event, stage by stage, on one catch-up batch in this process (no Kafka, no
PostgreSQL): what bounds `projector_eps` once PostgreSQL and Kafka have taken their share of the cores.

python -m bench.projector_stages [--incidents 2000] [--rounds 3]

Same backlog shape as `make bench` (bench/backlog.py: 10 events per incident), the projector's garbage-collector
settings, best of `--rounds`. Prints microseconds per event for each stage.
"""

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bench.backlog import incident_events
from incidents_shared.domain.codec import canonical_bytes
from incidents_shared.domain.record import Record
from incidents_shared.domain.walk import decode_records
from incidents_shared.gc_tuning import tune_for_batches
from incidents_shared.projection.batch import Known, project
from incidents_shared.projection.rows import event_row, incident_row, verdict_row


def records(incidents: int) -> list[Record]:
    start = datetime.now(UTC)
    values = [kv for _ in range(incidents) for kv in incident_events(start)]
    return [Record(n % 12, n, key.decode(), value) for n, (key, value) in enumerate(values)]


def best_us(action: Callable[[], Any], events: int, rounds: int) -> float:
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return 1e6 * min(timings) / events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--incidents", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    batch = records(args.incidents)
    tune_for_batches()
    n = len(batch)
    decoded = decode_records(batch)
    events = [d.event for d in decoded if d.event is not None]
    outcome = project(decoded, Known({}, set(), set()))
    stages = {
        "decode (pydantic validate_json of the record)": lambda: decode_records(batch),
        "judge + hash chain (project), of which:": lambda: project(decoded, Known({}, set(), set())),
        "  canonical bytes for the hash": lambda: [canonical_bytes(e) for e in events],
        "rows for COPY / upsert": lambda: (
            [event_row(e, v, h, p, o, c, 1) for e, v, h, p, o, c in outcome.events],
            [verdict_row(*row) for row in outcome.verdicts],
            [incident_row(s) for s in outcome.states.values()],
        ),
    }
    print(f"{n} events, best of {args.rounds} rounds, us per event:")
    total = 0.0
    for label, action in stages.items():
        us = best_us(action, n, args.rounds)
        total += 0.0 if label.startswith("  ") else us
        print(f"  {us:6.1f}  {label}")
    print(f"  {total:6.1f}  sum (without aiokafka's record parsing, asyncpg's encoding, loading states)")


if __name__ == "__main__":
    main()
