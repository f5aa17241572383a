"""What the paging benchmark pages and with what load: the directory, and P2 incidents at a fixed offered rate.

The directory: `teams` teams of `users` people, each team with a daily rotation that started an hour ago (so
someone is on call for the whole run) and `services` services it owns. Every person has two webhook contact
methods at the benchmark's receiver: `/page/<user>` at once and `/later/<user>` after `LATER` (past the end of
the run, so the second one stays armed: a pending timer per page).

The load, either way open loop (requests are due at start + n / rate whatever the platform does):
- through the command API, from its own process: `python -m bench.paging_load --url U --token T --services FILE
  --rate R --seconds S --out FILE` (a POST /v1/incidents per request, latency from when it was due);
- straight onto the log (`produce_paced`): `incident.logged` records decided like the API does, the escalator's
  ceiling without the API in front of it.
"""

import argparse
import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import uvloop
from aiokafka import AIOKafkaProducer

from bench.kafka_raw import ACTOR, WINDOW
from bench.openloop import Connection, percentile
from incidents_shared.domain import commands as c
from incidents_shared.domain.codec import canonical_bytes, headers_for
from incidents_shared.domain.decide import decide

LATER = "15m"  # the second contact method's delay
P2 = {"impact": "high", "urgency": "medium"}  # the priority matrix's P2


@dataclass(frozen=True)
class Directory:
    teams: int
    users: int
    services: int

    def documents(self, hooks: str, now: datetime) -> list[tuple[str, list[dict[str, Any]]]]:
        """(path, bodies) in a dependency-safe order: users, schedules, teams, services."""
        start = (now - timedelta(hours=1)).replace(microsecond=0).isoformat()
        users, schedules, teams, services = [], [], [], []
        for t in range(self.teams):
            members = [f"bench-u{t}-{u}" for u in range(self.users)]
            users += [_user(who, hooks) for who in members]
            layer = {"name": "daily", "start": start, "turn": "P1D", "users": members}
            schedules.append({"id": f"bench-t{t}-primary", "name": f"Team {t}", "time_zone": "UTC", "layers": [layer]})
            teams.append(
                {"id": f"bench-t{t}", "name": f"Team {t}", "members": members, "schedule": f"bench-t{t}-primary"}
            )
            services += [
                {"id": self.service(t, k), "name": f"Service {t}.{k}", "owner_team": f"bench-t{t}"}
                for k in range(self.services)
            ]
        return [("/v1/users", users), ("/v1/schedules", schedules), ("/v1/teams", teams), ("/v1/services", services)]

    def service(self, team: int, k: int) -> str:
        return f"bench-s{team}-{k}"

    def service_ids(self) -> list[str]:
        return [self.service(t, k) for t in range(self.teams) for k in range(self.services)]


def _user(who: str, hooks: str) -> dict[str, Any]:
    contacts = [
        {"kind": "webhook", "address": f"{hooks}/page/{who}"},
        {"kind": "webhook", "address": f"{hooks}/later/{who}", "delay": LATER},
    ]
    return {
        "id": who,
        "name": who,
        "email": f"{who}@example.com",
        "time_zone": "UTC",
        "role": "responder",
        "contact_methods": contacts,
    }


async def seed(url: str, admin_token: str, directory: Directory, hooks: str) -> int:
    """Create the directory through the API (each 201 comes after the API's own fold); how many resources."""
    created = 0
    limit = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=url, timeout=60, headers={"Authorization": f"Bearer {admin_token}"}) as api:

        async def post(path: str, body: dict[str, Any]) -> None:
            async with limit:
                answer = await api.post(path, json=body)
            if answer.status_code != 201:
                raise RuntimeError(f"POST {path} {body['id']}: {answer.status_code} {answer.text}")

        for path, bodies in directory.documents(hooks, datetime.now(UTC)):
            await asyncio.gather(*(post(path, body) for body in bodies))
            created += len(bodies)
    return created


def request_bytes(n: int, host: str, token: str, services: list[str]) -> bytes:
    """A new P2 incident of the n-th service, round robin; a 202 once it is on the log."""
    body = orjson.dumps({"title": f"Card payments fail ({n})", "service": services[n % len(services)], **P2})
    head = (
        f"POST /v1/incidents HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nPrefer: respond-async\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def offer(url: str, token: str, services: list[str], rate: float, seconds: float, connections: int) -> Any:
    """POST /v1/incidents at `rate` for `seconds` (Prefer: respond-async: a 202 once on the log)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loop = asyncio.get_running_loop()
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        idle.put_nowait((await loop.create_connection(Connection, host, port))[1])
    rows: list[tuple[float, float, int, str | None]] = []  # (due, wall clock; latency ms; status; incident id)
    errors = 0

    async def one(n: int, due: float, due_wall: float) -> None:
        nonlocal errors
        conn = await idle.get()
        payload = request_bytes(n, f"{host}:{port}", token, services)
        try:
            if conn.closed:  # the server closed an idle keep-alive connection
                conn = (await loop.create_connection(Connection, host, port))[1]
            status, answer = await conn.send(payload)
            rows.append((due_wall, (time.monotonic() - due) * 1000, status, _incident_id(answer)))
        except (OSError, ValueError, IndexError):
            errors += 1
            conn.closed = True
        finally:
            idle.put_nowait(conn)

    tasks, begin, begin_wall = set(), time.monotonic(), time.time()
    for n in range(int(rate * seconds)):
        if (delay := begin + n / rate - time.monotonic()) > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(n, begin + n / rate, begin_wall + n / rate))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    while tasks:
        await asyncio.wait(set(tasks))
    return rows, errors


def _incident_id(answer: bytes) -> str | None:
    try:
        value = orjson.loads(answer).get("incident_id")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return value if isinstance(value, str) else None


async def produce_paced(bootstrap: str, topic: str, services: list[str], rate: float, seconds: float) -> int:
    """`incident.logged` P2 records straight onto the log at `rate` (paced every 10 ms); how many."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    pending: list[asyncio.Future[Any]] = []
    total, sent, begin = int(rate * seconds), 0, time.monotonic()
    try:
        while sent < total:
            due = min(total, int((time.monotonic() - begin) * rate) + 1)
            for n in range(sent, due):
                key, value, headers = _logged(n, services)
                pending.append(await producer.send(topic, value, key=key, headers=headers))
            sent = due
            if len(pending) >= WINDOW:
                await asyncio.gather(*pending)
                pending = []
            await asyncio.sleep(0.01)
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent


def _logged(n: int, services: list[str]) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    meta = c.CommandMeta(
        incident_id=uuid.uuid4(),
        command_id=uuid.uuid4(),
        actor=ACTOR,
        now=datetime.now(UTC),
        correlation_id=f"bench-paging-{n}",
    )
    command = c.LogIncident(title=f"Card payments fail ({n})", service=services[n % len(services)], **P2)
    [event] = decide(None, command, meta)
    return str(meta.incident_id).encode(), canonical_bytes(event), headers_for(event)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--services", required=True, type=Path, help="JSON list of service ids")
    parser.add_argument("--rate", required=True, type=float)
    parser.add_argument("--seconds", required=True, type=float)
    parser.add_argument("--connections", type=int, default=512)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    services = json.loads(args.services.read_text())
    started = time.process_time()
    rows, errors = uvloop.run(offer(args.url, args.token, services, args.rate, args.seconds, args.connections))
    latencies = [r[1] for r in rows]
    summary = {
        "offered_rps": args.rate,
        "sent": len(rows) + errors,
        "accepted": sum(1 for r in rows if r[2] == 202),
        "errors": errors + sum(1 for r in rows if r[2] != 202),
        "api_p50_ms": percentile(latencies, 50),
        "api_p99_ms": percentile(latencies, 99),
        "generator_cpu_s": round(time.process_time() - started, 2),
        "requests": rows,
    }
    args.out.write_text(json.dumps(summary))


if __name__ == "__main__":
    main()
