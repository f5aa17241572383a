"""The projector's catch-up alone, for profiling loops: backlog -> projector -> events/s (optionally under py-spy).

python -m bench.projector_only --events 200000 [--keep] [--reuse] [--py-spy OUT] [--rebuild]

`--reuse` keeps the bench stack and the backlog of the previous `--keep` run and only resets the projector's
tables and offsets, so before/after comparisons read the very same records.
"""

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bench import backlog, catchup
from bench.stack import STATE, devstack, load_env
from tests.integration.services import BIN, ROOT

BACKLOG_FILE = STATE / "backlog-events"  # how many records the last non-reuse run put on the log


def log(message: str) -> None:
    print(f"projector-bench: {message}", file=sys.stderr, flush=True)


@contextmanager
def stack(reuse: bool, keep: bool) -> Iterator[None]:
    for key in ("INCIDENTS_KAFKA_BOOTSTRAP", "INCIDENTS_DATABASE_URL", "INCIDENTS_TOKENS_FILE"):
        os.environ.pop(key, None)
    if not reuse:
        devstack("wipe")
    devstack("start")
    try:
        os.environ.update(load_env() | {"INCIDENTS_TOPIC_PARTITIONS": "12", "INCIDENTS_LOG_LEVEL": "warning"})
        subprocess.run([str(BIN / "incidents-admin"), "init"], check=True, stdout=subprocess.DEVNULL)
        yield
    finally:
        if not keep:
            devstack("stop")


def start_py_spy(pid: int, out: str) -> "subprocess.Popen[bytes]":
    fmt = "raw" if out.endswith(".txt") else "flamegraph"
    args = [str(BIN / "py-spy"), "record", "--pid", str(pid), "-o", out, "--format", fmt, "--rate", "50", "--idle"]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--reuse", action="store_true", help="keep the previous backlog, reset the projector")
    parser.add_argument("--keep", action="store_true", help="leave the bench stack running afterwards")
    parser.add_argument("--py-spy", dest="py_spy", help="profile the projector into this file (.txt = raw)")
    parser.add_argument("--rebuild", action="store_true", help="also time `incidentctl rebuild` afterwards")
    parser.add_argument(
        "--processes", type=int, default=1, help="projector processes in the consumer group (they split partitions)"
    )
    args = parser.parse_args()
    from incidents_shared.settings import CommonSettings

    with stack(args.reuse, args.keep):
        url, bootstrap = os.environ["INCIDENTS_DATABASE_URL"], os.environ["INCIDENTS_KAFKA_BOOTSTRAP"]
        topic = CommonSettings().events_topic
        if args.reuse:
            asyncio.run(catchup.reset(url))
            total = int(BACKLOG_FILE.read_text())
        else:
            total = asyncio.run(backlog.produce(bootstrap, topic, args.events))
            BACKLOG_FILE.write_text(str(total))
        log(f"backlog of {total} events; starting {args.processes} projector processes")
        spies: list[subprocess.Popen[bytes]] = []

        def attach(pids: list[int]) -> None:  # py-spy on the first projector, from its launch
            if args.py_spy:
                spies.append(start_py_spy(pids[0], args.py_spy))

        try:
            result = asyncio.run(catchup.catch_up(url, total, args.processes, on_launch=attach))
        finally:
            for spy in spies:
                spy.send_signal(signal.SIGINT)
                spy.wait(30)
        result.stop()
        print(f"projector_eps {result.eps:.1f} ({total} events in {result.seconds:.1f} s, {args.processes} processes)")
        print(f"cpu us/event {result.summary()['cpu_us_per_event']}", flush=True)
        print(f"cores busy {result.cpu['cores']}", flush=True)
        if args.rebuild:
            started = time.perf_counter()
            subprocess.run([str(BIN / "incidentctl"), "rebuild"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
            print(f"rebuild_s {time.perf_counter() - started:.1f} ({total} events)", flush=True)


if __name__ == "__main__":
    main()
