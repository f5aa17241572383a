"""The console's queue page against its budget (issue 17: 200 ms server time), on a fresh bench stack.

1,000 open incidents of every priority and open status, then, signed in as a responder with a personal token,
`GET /console/` (the whole page) and `GET /console/queue` (the rows htmx swaps in) rendered `renders` times each.
The server time is the page's `Server-Timing: app;dur=` (the console route's own time: session, queries, template);
the client's wall time is beside it. In the same run, as floors and for comparison: `GET /healthz` (the HTTP
stack alone) and `GET /v1/incidents?sort=priority&limit=200` (the same kind of query as JSON, no template).
The queue shows at most 200 rows (console/queue.py ROWS), so 1,000 open incidents render 200.

Also recorded, because a user asks: the gzipped bytes of every script the console's pages load (htmx and ours);
the console is server-rendered, so the "JavaScript shipped" budget of an SPA does not apply to it.

python -m bench.console [--quick]
"""

import asyncio
import contextlib
import gzip
import re
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx

from bench.suite import on_fresh_platform, suite_main
from incidents_shared.settings import CommonSettings

FULL = {"incidents": 1_000, "renders": 300}
QUICK = {"incidents": 200, "renders": 40}
BUDGET_MS = 200.0
LEVELS = ("high", "medium", "low")
STEPS = ((), ("acknowledge",), ("acknowledge", "investigate"), ("acknowledge", "investigate", "hold"))
BODIES: dict[str, dict[str, Any]] = {"hold": {"reason": "awaiting_vendor"}}
SCRIPT = re.compile(r'<script[^>]* src="([^"]+)"')
ROW = re.compile(r'<tr data-incident="([^"]+)"')
READ_API = "/v1/incidents?sort=priority&limit=200"  # the read API's list, 200 rows by priority (one status at most)


def summary_ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))], 1)

    return {"p50": round(statistics.median(ordered), 1), "p95": at(0.95), "p99": at(0.99), "max": round(ordered[-1], 1)}


async def a_responder(client: httpx.AsyncClient, admin: dict[str, str]) -> str:
    """A responder with a personal token (what a person signs in to the console with)."""
    user_id = f"bench-{uuid.uuid4().hex[:6]}"
    body = {"id": user_id, "name": "Bench Responder", "email": f"{user_id}@example.com", "time_zone": "UTC"}
    answer = await client.post("/v1/users", json=body | {"role": "responder"}, headers=admin)
    answer.raise_for_status()
    issued = await client.post(f"/v1/users/{user_id}/tokens", json={"label": "bench"}, headers=admin)
    issued.raise_for_status()
    token: str = issued.json()["token"]
    return token


async def one_incident(client: httpx.AsyncClient, n: int, h: dict[str, str], actor: dict[str, str]) -> None:
    impact, urgency = LEVELS[n % 3], LEVELS[(n // 3) % 3]
    body = {"title": f"bench {n}: checkout errors in region {n % 7}", "service": f"svc-{n % 12}"}
    created = await client.post("/v1/incidents", json=body | {"impact": impact, "urgency": urgency}, headers=h)
    created.raise_for_status()
    incident_id = created.json()["incident_id"]
    for action in STEPS[n % len(STEPS)]:
        done = await client.post(f"/v1/incidents/{incident_id}/{action}", json=BODIES.get(action, {}), headers=actor)
        done.raise_for_status()


async def seed(client: httpx.AsyncClient, count: int, h: dict[str, str], actor: dict[str, str]) -> None:
    for start in range(0, count, 50):
        await asyncio.gather(*(one_incident(client, n, h, actor) for n in range(start, min(count, start + 50))))


async def projected(count: int) -> None:
    """Until the read model holds `count` open incidents."""
    db = await asyncpg.connect(CommonSettings().database_url)
    try:
        for _ in range(3_000):
            shown = await db.fetchval(
                "SELECT count(*) FROM incidents WHERE status IN ('new', 'acknowledged', 'investigating', 'on_hold')"
            )
            if shown >= count:
                return
            await asyncio.sleep(0.2)
        raise RuntimeError(f"only {shown} of {count} incidents projected after 10 minutes")
    finally:
        await db.close()


async def timed(client: httpx.AsyncClient, url: str, n: int, h: dict[str, str] | None = None) -> dict[str, Any]:
    """`n` sequential GETs: the client's wall time and, when the page sends it, the server's (Server-Timing)."""
    wall, server, size = [], [], 0
    for _ in range(n):
        started = time.perf_counter()
        answer = await client.get(url, headers=h)
        wall.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise RuntimeError(f"{url}: {answer.status_code} {answer.text[:300]}")
        if timing := answer.headers.get("server-timing"):
            server.append(float(timing.split("dur=")[1]))
        size = len(answer.content)
    out: dict[str, Any] = {"wall_ms": summary_ms(wall), "bytes": size}
    return out | ({"server_ms": summary_ms(server)} if server else {})


async def scripts_gzipped(client: httpx.AsyncClient, pages: list[str]) -> dict[str, int]:
    """Every script the console's pages load, gzipped (level 6, as a web server would) bytes."""
    sources = sorted({src for page in pages for src in SCRIPT.findall((await client.get(page)).text)})
    return {src: len(gzip.compress((await client.get(src)).content, 6)) for src in sources}


@contextlib.asynccontextmanager
async def seeded_and_signed_in(
    url: str, size: dict[str, int], token: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    """`size["incidents"]` open incidents, projected, and a console session of a responder (a client with it)."""
    admin = {"Authorization": f"Bearer {token['admin']}"}
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        personal = await a_responder(client, admin)
        reporter, responder = ({"Authorization": f"Bearer {token[role]}"} for role in ("reporter", "responder"))
        await seed(client, size["incidents"], reporter, responder)
        await projected(size["incidents"])
    async with httpx.AsyncClient(base_url=url, timeout=60, headers={"Origin": url}) as browser:
        signed = await browser.post("/console/sign-in", data={"token": personal})
        if signed.status_code != 303:
            raise RuntimeError(f"sign-in: {signed.status_code} {signed.text[:300]}")
        yield browser


async def measure(url: str, size: dict[str, int], token: dict[str, str]) -> dict[str, Any]:
    admin = {"Authorization": f"Bearer {token['admin']}"}
    async with seeded_and_signed_in(url, size, token) as browser:
        n = size["renders"]
        await timed(browser, "/console/", 20)  # warm up: templates compiled, pool connections open
        shown = ROW.findall((await browser.get("/console/queue")).text)
        rows, incident = len(shown), shown[0]
        out: dict[str, Any] = {"open_incidents": size["incidents"], "rows_shown": rows, "renders": n}
        out["queue_page"] = await timed(browser, "/console/", n)
        out["queue_rows"] = await timed(browser, "/console/queue", n)
        out["healthz_floor"] = await timed(browser, "/healthz", n)
        out["read_api_200_rows"] = await timed(browser, READ_API, n, admin)
        pages = ["/console/", f"/console/incidents/{incident}", "/docs", "/redoc"]
        out["scripts_gzip_bytes"] = await scripts_gzipped(browser, pages)
    return out


def run_alone(size: dict[str, int]) -> dict[str, Any]:
    return on_fresh_platform(measure, size)


def for_report(quick: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """Results and notes for bench/run.py: the `console_*` keys."""
    m = run_alone(QUICK if quick else FULL)
    page, rows = m["queue_page"]["server_ms"], m["queue_rows"]["server_ms"]
    docs = ("swagger", "redoc")  # /docs and /redoc's bundles: not the console's
    console_scripts = {src: b for src, b in m["scripts_gzip_bytes"].items() if not any(d in src for d in docs)}
    results = {
        "console": m,
        "console_queue_page_server_p95_ms": page["p95"],
        "console_queue_page_server_p99_ms": page["p99"],
        "console_queue_rows_server_p99_ms": rows["p99"],
        "console_within_budget": page["p99"] <= BUDGET_MS and rows["p99"] <= BUDGET_MS,
        "console_scripts_gzip_bytes": sum(console_scripts.values()),
    }
    note = (
        f"{m['open_incidents']:,} open incidents, {m['rows_shown']} rows shown (console/queue.py ROWS = 200);"
        f" budget {BUDGET_MS:.0f} ms server time; floor GET /healthz p99 {m['healthz_floor']['wall_ms']['p99']} ms"
    )
    return results, {"console_queue_page_server_p99_ms": note}


def main() -> None:
    suite_main(__doc__, run_alone, FULL, QUICK)


if __name__ == "__main__":
    main()
