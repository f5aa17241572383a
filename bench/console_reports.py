"""The console's reports page (/console/reports) rendered over 1,000 incidents, on a fresh bench stack.

The incidents are bench/console.py's seed (every priority, a quarter new, the rest acknowledged, some
investigating or on hold). Signed in as a responder, `GET /console/reports` (summary by priority, the headline,
weekly lines, recurring issues, four SVG charts and their tables) is rendered `renders` times; the server time is
the page's `Server-Timing: app;dur=`. Beside it, as the floor: `GET /v1/reports/summary?group_by=priority` (one
of the page's four statements, as JSON). No budget is set by the issue; the queue's 200 ms is the yardstick.

python -m bench.console_reports [--quick]
"""

from typing import Any

from bench.console import seeded_and_signed_in, timed
from bench.suite import on_fresh_platform, suite_main

FULL = {"incidents": 1_000, "renders": 200}
QUICK = {"incidents": 200, "renders": 30}
YARDSTICK_MS = 200.0  # the queue page's budget (issue 17)
SUMMARY = "/v1/reports/summary?group_by=priority"


async def measure(url: str, size: dict[str, int], token: dict[str, str]) -> dict[str, Any]:
    admin = {"Authorization": f"Bearer {token['admin']}"}
    async with seeded_and_signed_in(url, size, token) as browser:
        await timed(browser, "/console/reports", 10)  # warm up: templates compiled, pool connections open
        n = size["renders"]
        out: dict[str, Any] = {"incidents": size["incidents"], "renders": n}
        out["reports_page"] = await timed(browser, "/console/reports?min_count=2", n)
        out["summary_api_floor"] = await timed(browser, SUMMARY, n, admin)
    return out


def run_alone(size: dict[str, int]) -> dict[str, Any]:
    return on_fresh_platform(measure, size)


def for_report(quick: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """Results and notes for bench/run.py: the `console_reports_*` keys."""
    m = run_alone(QUICK if quick else FULL)
    page = m["reports_page"]["server_ms"]
    results = {
        "console_reports": m,
        "console_reports_page_server_p95_ms": page["p95"],
        "console_reports_page_server_p99_ms": page["p99"],
    }
    note = f"{m['incidents']:,} incidents in the default 30-day window; yardstick {YARDSTICK_MS:.0f} ms (the queue's)"
    return results, {"console_reports_page_server_p99_ms": note}


def main() -> None:
    suite_main(__doc__, run_alone, FULL, QUICK)


if __name__ == "__main__":
    main()
