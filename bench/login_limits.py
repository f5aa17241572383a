"""Failed-login limits: what they cost a successful request, and what a refused one costs (decision 0089).

python -m bench.login_limits [--requests 200000]

Pure CPU in this process: `LoginLimits.refused` (every authenticated request asks it, before the token is looked
at) for an address that is not refused and for one that is, beside `TokenRegistry.authenticate` for a valid role
token among 20 (the work a request does anyway). No PostgreSQL: only a failure touches it (one upsert).
"""

import argparse
import asyncio
import time
from typing import Any

from command_api.auth import Principal, TokenRegistry
from command_api.login_limits import LoginLimits
from command_api.principals import token_hash
from incidents_shared.domain.enums import Role

FULL, QUICK = {"requests": 200_000}, {"requests": 20_000}


def per_call_ns(call: Any, n: int) -> float:
    started = time.perf_counter_ns()
    for _ in range(n):
        call()
    return (time.perf_counter_ns() - started) / n


def measure(requests: int) -> dict[str, float]:
    limits = LoginLimits(limit=20, window_s=60)
    for _ in range(21):
        asyncio.run(limits.failed("10.0.0.66"))
    tokens = {token_hash(f"token-{i}"): Principal(f"svc-{i}", Role.INTEGRATION) for i in range(20)}
    registry = TokenRegistry(tokens)
    return {
        "refused_check_ns": round(per_call_ns(lambda: limits.refused("10.0.0.1"), requests)),
        "refused_answer_ns": round(per_call_ns(lambda: limits.refused("10.0.0.66"), requests)),
        "authenticate_ns": round(per_call_ns(lambda: registry.authenticate("token-19"), requests)),
        "requests": requests,
    }


def for_report(quick: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """Results and notes for bench/run.py: the `login_limits_*` keys."""
    m = measure(**(QUICK if quick else FULL))
    results = {"login_limits": m, "login_limits_check_ns": m["refused_check_ns"]}
    note = (
        f"{'quick mode: ' if quick else ''}LoginLimits.refused per request (not refused), one core, no I/O;"
        f" a refused address {m['refused_answer_ns']:,.0f} ns; authenticate() among 20 role tokens"
        f" {m['authenticate_ns']:,.0f} ns"
    )
    return results, {"login_limits_check_ns": note}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=FULL["requests"])
    m = measure(parser.parse_args().requests)
    print(
        f"refused() {m['refused_check_ns']:.0f} ns (not refused), {m['refused_answer_ns']:.0f} ns (refused);"
        f" authenticate() {m['authenticate_ns']:.0f} ns among 20 role tokens"
    )


if __name__ == "__main__":
    main()
