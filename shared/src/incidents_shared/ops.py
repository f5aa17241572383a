"""Operations endpoints every service serves: /healthz, /readyz, /metrics."""

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from fastapi.telemetry import TelemetryConfig
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

Probe = Callable[[], Awaitable[None]]
PROBE_TIMEOUT_S = 2.0
# Metrics are Prometheus (/metrics). FastAPI's own OpenTelemetry hooks look up the global providers on every
# request (~5% of the API's CPU in a py-spy profile under load, docs/decisions/0052); they stay off.
NO_OTEL: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def kafka_probe(bootstrap: str) -> Probe:
    async def probe() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=2_000)
        try:
            await admin.start()
            await admin.list_topics()
        finally:
            await admin.close()

    return probe


def postgres_probe(pool: "asyncpg.Pool[asyncpg.Record]") -> Probe:
    async def probe() -> None:
        async with pool.acquire(timeout=PROBE_TIMEOUT_S) as conn:
            await conn.fetchval("SELECT 1")

    return probe


async def _run_probe(probe: Probe) -> str:
    try:
        await asyncio.wait_for(probe(), PROBE_TIMEOUT_S)
        return "ok"
    except Exception as exc:  # noqa: BLE001 - a probe reports any failure as "not ready"
        return f"unavailable: {type(exc).__name__}"


def add_ops_routes(app: FastAPI, probes: Callable[[], dict[str, Probe]]) -> None:
    """Mount the three operations endpoints; `probes` names the dependencies /readyz checks."""

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> JSONResponse:
        named = probes()
        results = await asyncio.gather(*(_run_probe(p) for p in named.values()))
        checks = dict(zip(named, results, strict=True))
        ready = bool(checks) and all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": checks}, status_code=200 if ready else 503
        )

    @app.get(
        "/metrics",
        tags=["operations"],
        response_class=Response,
        responses={200: {"description": "Prometheus text format", "content": {CONTENT_TYPE_LATEST: {}}}},
    )
    async def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
