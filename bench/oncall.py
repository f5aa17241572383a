"""Who is on call: the resolver's time per lookup on 1,000 schedules of 50 users with 20 overrides each.

python -m bench.oncall [--schedules 1000] [--lookups 20000]

Each schedule has two weekly-turn layers (the second restricted to office hours) in a zone of its own, and 20
one-day overrides spread over the year; lookups are at random instants of 2027 (both DST changes included), each
`oncall_at` with the `since`/`until` of its answer. Pure CPU in this process: no Kafka, no PostgreSQL. Prints the
median and p99 microseconds per lookup and lookups per second on one core. Issue 15 asks for it beside the pages
armed per second, which need the directory on the log first.
"""

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--schedules", type=int, default=1_000)
    parser.add_argument("--lookups", type=int, default=20_000)
    args = parser.parse_args()
    rng = random.Random(15)
    schedules = [schedule(n, rng) for n in range(args.schedules)]
    instants = [YEAR_START + timedelta(seconds=rng.randrange(365 * 86_400)) for _ in range(args.lookups)]
    timings = []
    for n, at in enumerate(instants):
        started = time.perf_counter()
        oncall_at(schedules[n % len(schedules)], at)
        timings.append(time.perf_counter() - started)
    timings.sort()
    median, p99 = statistics.median(timings) * 1e6, timings[int(len(timings) * 0.99)] * 1e6
    print(f"{args.schedules} schedules x 50 users x 20 overrides, {args.lookups} lookups (oncall_at with since/until)")
    rate = 1 / statistics.mean(timings)
    print(f"  median {median:.0f} us, p99 {p99:.0f} us per lookup; {rate:.0f} lookups/s on one core")


if __name__ == "__main__":
    main()
