"""What the benchmark suites that measure through the API share: a fresh platform to measure on, and their CLI."""

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from bench.stack import bench_stack, rss_mb, service, tokens

Size = dict[str, int]
Measure = Callable[[str, Size, dict[str, str]], Coroutine[Any, Any, dict[str, Any]]]


def on_fresh_platform(measure: Measure, size: Size, api_env: dict[str, str] | None = None) -> dict[str, Any]:
    """Start a fresh bench stack and the three services, run `measure(api_url, size, tokens)`, and add the
    command API's resident memory; everything is stopped afterwards."""
    with bench_stack(partitions=4):
        services = [service("projector"), service("escalator"), service("command-api")]
        services[2].env.update(api_env or {})
        try:
            for svc in services:
                svc.start()
            result: dict[str, Any] = asyncio.run(measure(services[2].url, size, tokens()))
            api = services[2].process
            result["rss_mb_api"] = rss_mb(api.pid) if api is not None else None
            return result
        finally:
            for svc in reversed(services):
                svc.stop()


def suite_main(doc: str | None, run: Callable[[Size], dict[str, Any]], full: Size, quick: Size) -> None:
    """`python -m bench.<suite> [--quick] [--<size key> N ...]`: one run printed as JSON."""
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--quick", action="store_true")
    for key in full:
        parser.add_argument(f"--{key.replace('_', '-')}", dest=key, type=int)
    args = parser.parse_args()
    size = dict(quick if args.quick else full) | {k: v for k, v in vars(args).items() if k in full and v is not None}
    json.dump(run(size), sys.stdout, indent=2)
    print()
