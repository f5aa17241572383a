"""Who is on call: the resolver's time per lookup on 1,000 schedules of 50 users with 20 overrides each.

python -m bench.oncall [--schedules 1000] [--lookups 20000]

Each schedule has two weekly-turn layers (the second restricted to office hours) in a zone of its own, and 20
one-day overrides spread over the year; lookups are at random instants of 2027 (both DST changes included), each
`oncall_at` with the `since`/`until` of its answer. Pure CPU in this process: no Kafka, no PostgreSQL. Prints the
median and p99 microseconds per lookup and lookups per second on one core. `make bench` records it
(`for_report`), beside the pages armed per second (bench/paging.py).
"""

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from incidents_shared.domain.oncall import Schedule, oncall_at

ZONES = ("Europe/Amsterdam", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "UTC")
YEAR_START = datetime(2027, 1, 1, tzinfo=UTC)


def schedule(n: int, rng: random.Random) -> Schedule:
    users = [f"user-{n}-{u}" for u in range(50)]
    overrides = []
    for k in range(20):
        start = YEAR_START + timedelta(days=18 * k + rng.randint(0, 10), hours=rng.randint(0, 23))
        overrides.append({"user": rng.choice(users), "start": start, "end": start + timedelta(days=1)})
    office = {"kind": "weekly", "start_day": "mon", "start": "09:00", "end_day": "fri", "end": "17:00"}
    return Schedule.model_validate(
        {
            "id": f"schedule-{n}",
            "name": f"Schedule {n}",
            "time_zone": ZONES[n % len(ZONES)],
            "layers": [
                {"name": "primary", "start": "2026-06-01T09:00:00", "turn": "P1W", "users": users},
                {
                    "name": "office",
                    "start": "2026-06-01T09:00:00",
                    "turn": "P1D",
                    "users": users[:10],
                    "restrictions": [office],
                },
            ],
            "overrides": overrides,
        }
    )


FULL = {"schedules": 1_000, "lookups": 20_000}
QUICK = {"schedules": 100, "lookups": 2_000}


def measure(schedules: int, lookups: int) -> dict[str, Any]:
    """Time `lookups` calls of `oncall_at`, round robin over the schedules, each at a random instant of 2027."""
    rng = random.Random(15)
    built = [schedule(n, rng) for n in range(schedules)]
    instants = [YEAR_START + timedelta(seconds=rng.randrange(365 * 86_400)) for _ in range(lookups)]
    timings = []
    for n, at in enumerate(instants):
        started = time.perf_counter()
        oncall_at(built[n % len(built)], at)
        timings.append(time.perf_counter() - started)
    timings.sort()
    return {
        "schedules": schedules,
        "users_per_schedule": 50,
        "overrides_per_schedule": 20,
        "lookups": lookups,
        "median_us": round(statistics.median(timings) * 1e6, 1),
        "p99_us": round(timings[int(len(timings) * 0.99)] * 1e6, 1),
        "max_us": round(timings[-1] * 1e6, 1),
        "lookups_per_s_one_core": round(1 / statistics.mean(timings), 1),
    }


def for_report(quick: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """Results and notes for bench/run.py: the `oncall_lookup_*` keys."""
    m = measure(**(QUICK if quick else FULL))
    results = {"oncall": m, "oncall_lookup_median_us": m["median_us"], "oncall_lookup_p99_us": m["p99_us"]}
    note = (
        f"{'quick mode: ' if quick else ''}{m['schedules']:,} schedules x 50 users x 20 overrides, {m['lookups']:,}"
        f" lookups at random instants of 2027 (oncall_at with since/until), one core, no I/O;"
        f" {m['lookups_per_s_one_core']:,.0f} lookups/s, max {m['max_us']:,.0f} us"
    )
    return results, {"oncall_lookup_median_us": note}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--schedules", type=int, default=FULL["schedules"])
    parser.add_argument("--lookups", type=int, default=FULL["lookups"])
    args = parser.parse_args()
    m = measure(args.schedules, args.lookups)
    print(f"{args.schedules} schedules x 50 users x 20 overrides, {args.lookups} lookups (oncall_at with since/until)")
    print(
        f"  median {m['median_us']:.0f} us, p99 {m['p99_us']:.0f} us per lookup;"
        f" {m['lookups_per_s_one_core']:.0f} lookups/s on one core"
    )


if __name__ == "__main__":
    main()
