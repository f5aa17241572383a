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

import asyncpg

from bench import backlog
from bench.cpu import CpuMeter
from bench.stack import PORT_BASE, STATE, devstack, load_env, service
from incidentctl.rebuild import PROJECTOR_TABLES
from tests.integration.services import BIN, ROOT, Service

BACKLOG_FILE = STATE / "backlog-events"  # how many records the last non-reuse run put on the log

# The projector's tables as rebuild knows them (one list), plus what the projector writes beside them.
PROJECTOR_STATE = (
    f"TRUNCATE {', '.join(t for t in PROJECTOR_TABLES if t != 'stream_counter')}, audit_checkpoints,"
    " consumer_offsets; UPDATE stream_counter SET position = 0"
)


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


async def reset(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(PROJECTOR_STATE)
        return 0
    finally:
        await conn.close()


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
            asyncio.run(reset(url))
            total = int(BACKLOG_FILE.read_text())
        else:
            total = asyncio.run(backlog.produce(bootstrap, topic, args.events))
            BACKLOG_FILE.write_text(str(total))
        log(f"backlog of {total} events; starting the projector")
        projector = service("projector")
        others = [Service("projector", PORT_BASE + 20 + n) for n in range(args.processes - 1)]
        projector.start()
        for other in others:
            other.start()
        spy = start_py_spy(projector.process.pid, args.py_spy) if args.py_spy and projector.process else None
        pids = {f"projector-{n}": s.process.pid for n, s in enumerate([projector, *others]) if s.process is not None}
        meter = CpuMeter(pids, STATE)
        before = meter.start()
        try:
            elapsed = asyncio.run(backlog.wait_caught_up(url, total, timeout_s=3_600))
            budget = meter.since(before, elapsed, total)
        finally:
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(30)
            for other in others:
                other.stop()
            projector.stop()
        print(
            f"projector_eps {total / elapsed:.1f} ({total} events in {elapsed:.1f} s, {args.processes} processes)",
            flush=True,
        )
        print(f"cpu us/event {({k: round(1000 * v, 1) for k, v in budget['ms_per_request'].items()})}", flush=True)
        print(f"cores busy {budget['cores']}", flush=True)
        if args.rebuild:
            started = time.perf_counter()
            subprocess.run([str(BIN / "incidentctl"), "rebuild"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
            print(f"rebuild_s {time.perf_counter() - started:.1f} ({total} events)", flush=True)


if __name__ == "__main__":
    main()
