"""/healthz, /readyz and /metrics on every service; OpenAPI documents the API."""

import httpx

from tests.integration.helpers import auth, log_incident
from tests.integration.services import Service


async def test_every_service_is_healthy_ready_and_exports_metrics(services: dict[str, Service]) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        for service in services.values():
            assert (await client.get(f"{service.url}/healthz")).json() == {"status": "ok"}
            ready = await client.get(f"{service.url}/readyz")
            assert ready.status_code == 200, (service.name, ready.text)
            assert ready.json()["checks"] == {"kafka": "ok", "postgres": "ok"}
            metrics = await client.get(f"{service.url}/metrics")
            assert metrics.status_code == 200 and "process_resident_memory_bytes" in metrics.text


async def test_api_and_projector_metrics_count_the_work(
    api: httpx.AsyncClient, tokens: dict[str, str], services: dict[str, Service]
) -> None:
    await log_incident(api, tokens)
    api_metrics = (await api.get("/metrics")).text
    for name in (
        "api_requests_total",
        "api_request_seconds_bucket",
        "api_events_appended_total",
        "api_append_seconds_bucket",
        "api_verdict_wait_seconds_bucket",
    ):
        assert name in api_metrics, name
    assert 'api_requests_total{method="POST",route="/v1/incidents",status="201"}' in api_metrics
    projector = (await api.get(f"{services['projector'].url}/metrics")).text
    assert 'projector_verdicts_total{verdict="accepted"}' in projector


async def test_openapi_has_every_command_with_examples(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    spec = (await api.get("/openapi.json")).json()
    assert "/v1/incidents/{incident_id}/acknowledge" in spec["paths"]
    assert (await api.get("/docs")).status_code == 200
    log_schema = spec["components"]["schemas"]["LogIncident"]
    assert log_schema.get("examples"), "the log command documents an example body"
    assert auth(tokens, "reporter")
