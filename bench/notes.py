"""An incident with 10,000 notes (issue 19 finding 4, docs/decisions/0091), on a fresh bench stack.

The notes go straight onto the log (one record each, keyed by the incident, as the API appends them). Measured:
how long the projector takes to fold them; the latency of `GET /v1/incidents/{id}`, the first and the last
timeline page (500 events), an audit page and `as_of` for an ordinary incident and for the crowded one; and the
p99 of an ordinary incident's GET while two clients read the crowded one over and over.

python -m bench.notes [--quick]
"""

import asyncio
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from bench.suite import on_fresh_platform, suite_main
from incidents_shared.settings import CommonSettings
from tests.integration.rawlog import append_notes

FULL = {"notes": 10_000, "probes": 200}
QUICK = {"notes": 2_000, "probes": 50}
TEXT = "checked the connection pool, the replicas and the cache; " * 35  # about 2 KB a note


def summary_ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50": round(statistics.median(ordered) * 1000, 1),
        "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
        "max": round(ordered[-1] * 1000, 1),
    }


async def timed(client: httpx.AsyncClient, url: str, n: int, headers: dict[str, str]) -> list[float]:
    took = []
    for _ in range(n):
        started = time.perf_counter()
        answer = await client.get(url, headers=headers)
        took.append(time.perf_counter() - started)
        if answer.status_code != 200:
            raise RuntimeError(f"{url}: {answer.status_code} {answer.text[:300]}")
    return took


async def reads(client: httpx.AsyncClient, incident_id: str, size: dict[str, int], h: dict[str, str]) -> dict[str, Any]:
    """Each read of one incident, timed."""
    base, n = f"/v1/incidents/{incident_id}", size["probes"]
    version = (await client.get(base, headers=h)).json()["version"]
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    urls = {
        "get": base,
        "timeline_first": f"{base}/timeline",
        "timeline_last": f"{base}/timeline?after={max(0, version - 500)}",
        "audit_page": f"{base}/audit",
        "as_of": f"{base}?as_of={now}",
    }
    return {"events": version} | {
        name: summary_ms(await timed(client, url, n if name == "get" else max(5, n // 10), h))
        for name, url in urls.items()
    }


async def loaded_get_ms(client: httpx.AsyncClient, simple: str, crowded: str, n: int, h: dict[str, str]) -> Any:
    """An ordinary incident's GET while two clients read the crowded incident's pages over and over."""
    stop = asyncio.Event()
    pages = [f"/v1/incidents/{crowded}", f"/v1/incidents/{crowded}/timeline"]

    async def load() -> int:
        done = 0
        while not stop.is_set():
            await client.get(pages[done % 2], headers=h)
            done += 1
        return done

    loaders = [asyncio.create_task(load()) for _ in range(2)]
    during = await timed(client, simple, n, h)
    stop.set()
    return summary_ms(during), sum(await asyncio.gather(*loaders))


async def projected(client: httpx.AsyncClient, incident_id: str, count: int, h: dict[str, str]) -> None:
    """Until the read model shows `count` notes on the incident (a poll, as a user would)."""
    shown = 0
    for _ in range(3_000):  # 10 minutes
        shown = (await client.get(f"/v1/incidents/{incident_id}", headers=h)).json()["notes_count"]
        if shown >= count:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"only {shown} of {count} notes projected after 10 minutes")


async def measure(url: str, size: dict[str, int], token: dict[str, str]) -> dict[str, Any]:
    h = {"Authorization": f"Bearer {token['manager']}"}
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        ids = [
            (await client.post("/v1/incidents", json={"title": title, "service": "notes"}, headers=h)).json()
            for title in ("bench ordinary", "bench crowded")
        ]
        ordinary, crowded = (i["incident_id"] for i in ids)
        await timed(client, f"/v1/incidents/{ordinary}", 20, h)  # warm up
        out: dict[str, Any] = {"notes": size["notes"], "ordinary": await reads(client, ordinary, size, h)}
        started = time.perf_counter()
        await append_notes(CommonSettings(), crowded, size["notes"], TEXT, "bench-responder")
        await projected(client, crowded, size["notes"], h)
        out["appended_and_projected_s"] = round(time.perf_counter() - started, 1)
        out["crowded"] = await reads(client, crowded, size, h)
        during, loaded = await loaded_get_ms(client, f"/v1/incidents/{ordinary}", crowded, size["probes"], h)
        out["ordinary_get_ms_while_crowded_read"], out["crowded_reads_meanwhile"] = during, loaded
        refused = await client.post(f"/v1/incidents/{crowded}/notes", json={"text": "one more"}, headers=h)
        out["note_past_limit_status"] = refused.status_code if size["notes"] >= 10_000 else None
    return out


def run_alone(size: dict[str, int]) -> dict[str, Any]:
    return on_fresh_platform(measure, size)


def for_report(quick: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """Results and notes for bench/run.py: the `notes_*` keys."""
    m = run_alone(QUICK if quick else FULL)
    results = {
        "notes": m,
        "notes_get_p99_ms": m["crowded"]["get"]["p99"],
        "notes_timeline_page_p99_ms": m["crowded"]["timeline_last"]["p99"],
        "notes_other_get_p99_ms_meanwhile": m["ordinary_get_ms_while_crowded_read"]["p99"],
    }
    note = f"{m['notes']:,} notes of ~2 KB on one incident; an ordinary incident's GET p99"
    note += f" {m['ordinary']['get']['p99']} ms alone"
    return results, {"notes_other_get_p99_ms_meanwhile": note}


def main() -> None:
    suite_main(__doc__, run_alone, FULL, QUICK)


if __name__ == "__main__":
    main()
