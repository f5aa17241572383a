"""Alert routes: POST /v1/alerts (generic), /v1/alerts/alertmanager (webhook v4), /v1/alerts/grafana.

A request carries a batch; each alert is validated and handled on its own and gets its own outcome.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, ValidationError

from command_api.alerts_service import AlertResult, AlertService
from command_api.auth import Principal
from command_api.deps import CorrelationId, require
from command_api.problems import Problem
from command_api.routes.commands import ANSWERS
from incidents_shared.domain import alerts as a
from incidents_shared.domain import commands as c
from incidents_shared.domain.authorization import COMMAND_ROLES

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/v1/alerts", tags=["alerts"])
Integration = Annotated[Principal, Depends(require(COMMAND_ROLES[c.ReceiveAlert]))]
RESPONSES: dict[int | str, dict[str, Any]] = {k: v for k, v in ANSWERS.items() if k in (401, 403, 413, 422, 503)}


class Outcome(BaseModel):
    dedup_key: str | None
    outcome: str
    incident_id: str | None
    status: str | None
    detail: str | None = None
    event_id: str | None = None
    errors: list[dict[str, Any]] | None = None


class Results(BaseModel):
    """One outcome per alert, in the order sent: opened, correlated, resolved, reopened, noted, ignored,
    invalid (the alert did not validate), rejected (the domain refused it) or pending (verdict not yet known)."""

    results: list[Outcome]


def alert_service(request: Request) -> AlertService:
    service: AlertService = request.app.state.alerts
    return service


GENERIC_EXAMPLE = {
    "dedup_key": "checkout-5xx",
    "status": "firing",
    "severity": "critical",
    "summary": "Checkout 5xx over 5%",
    "service": "checkout",
    "labels": {"env": "prod", "team": "payments"},
    "annotations": {"runbook_url": "https://runbooks.example/checkout"},
    "starts_at": "2026-11-27T09:40:00Z",
}
AlertsDep = Annotated[AlertService, Depends(alert_service)]
Normalizer = Callable[[dict[str, Any]], a.NormalizedAlert]


def _errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [{"loc": [str(p) for p in err["loc"]], "msg": err["msg"], "type": err["type"]} for err in exc.errors()]


def _validated(raw: list[Any], normalize: Normalizer, key_field: str) -> list[a.NormalizedAlert | AlertResult]:
    items: list[a.NormalizedAlert | AlertResult] = []
    for item in raw:
        if not isinstance(item, dict):
            items.append(AlertResult("invalid", detail="an alert is a JSON object"))
            continue
        try:
            items.append(normalize(item))
        except ValidationError as exc:
            key = item.get(key_field) if isinstance(item.get(key_field), str) else None
            items.append(AlertResult("invalid", key, detail="the alert is not valid", errors=_errors(exc)))
    return items


async def _handle(
    service: AlertService,
    principal: Principal,
    correlation: str,
    raw: list[Any],
    normalize: Normalizer,
    key_field: str,
) -> Results:
    limit = service.mapping.max_alerts_per_request
    if len(raw) > limit:
        raise Problem(413, "too-many-alerts", "Too many alerts in one request", f"send at most {limit} per request")
    results = await service.receive(principal.actor(), correlation, _validated(raw, normalize, key_field))
    return Results.model_validate({"results": [r.public() for r in results]})


@router.post("", response_model=Results, responses=RESPONSES, summary="Generic alerts (one, or a list)")
async def generic_alerts(
    body: Annotated[dict[str, Any] | list[Any], Body(examples=[GENERIC_EXAMPLE, [GENERIC_EXAMPLE]])],
    service: AlertsDep,
    correlation: CorrelationId,
    principal: Integration,
) -> Results:
    now = datetime.now(UTC)

    def normalize(item: dict[str, Any]) -> a.NormalizedAlert:
        return a.normalize_generic(a.GenericAlert.model_validate(item), service.mapping, service.taxonomy, now)

    raw = body if isinstance(body, list) else [body]
    return await _handle(service, principal, correlation, raw, normalize, "dedup_key")


@router.post("/alertmanager", response_model=Results, responses=RESPONSES, summary="Prometheus Alertmanager webhook")
async def alertmanager_webhook(
    body: a.AlertmanagerWebhook, service: AlertsDep, correlation: CorrelationId, principal: Integration
) -> Results:
    if body.truncated_alerts:
        log.warning("alertmanager_truncated_alerts", truncated=body.truncated_alerts, group_key=body.group_key)

    def normalize(item: dict[str, Any]) -> a.NormalizedAlert:
        alert = a.WebhookAlert.model_validate(item)
        return a.normalize_webhook(alert, "alertmanager", service.mapping, service.taxonomy)

    return await _handle(service, principal, correlation, body.alerts, normalize, "fingerprint")


@router.post("/grafana", response_model=Results, responses=RESPONSES, summary="Grafana alerting webhook")
async def grafana_webhook(
    body: a.GrafanaWebhook, service: AlertsDep, correlation: CorrelationId, principal: Integration
) -> Results:
    def normalize(item: dict[str, Any]) -> a.NormalizedAlert:
        alert = a.GrafanaAlert.model_validate(item)
        return a.normalize_webhook(alert, "grafana", service.mapping, service.taxonomy)

    return await _handle(service, principal, correlation, body.alerts, normalize, "fingerprint")
