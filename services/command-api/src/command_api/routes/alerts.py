"""Alert routes: POST /v1/alerts (generic), /v1/alerts/alertmanager (webhook v4), /v1/alerts/grafana.

A request carries a batch; each alert is validated on its own and gets its own outcome. An Alertmanager
notification opens one incident per notification group (its groupKey within its receiver), unless the alert
mapping's `alertmanager_routes` switch the receiver or the group's labels to one incident per alert.
"""

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Body, Depends, Request, Response
from pydantic import BaseModel

from command_api.alerts_service import GENERIC, GRAFANA, AlertFormat
from command_api.auth import Principal
from command_api.deps import Container, ContainerDep, CorrelationId, require
from command_api.http_answers import answer
from command_api.problems import Problem
from command_api.ratelimit import retry_after_header
from command_api.routes.commands import ANSWERS
from incidents_shared.domain import alerts as a
from incidents_shared.domain import commands as c
from incidents_shared.domain.authorization import COMMAND_ROLES

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/v1/alerts", tags=["alerts"])
Integration = Annotated[Principal, Depends(require(COMMAND_ROLES[c.ReceiveAlert]))]
RESPONSES: dict[int | str, dict[str, Any]] = {k: v for k, v in ANSWERS.items() if k in (401, 403, 413, 422, 429, 503)}


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
    invalid (the alert did not validate), rejected (the domain refused it) or pending (verdict not yet known).
    An Alertmanager group's alerts share their group's `dedup_key` and incident; an alert the notification did not
    change is `ignored` (`detail` says why)."""

    results: list[Outcome]


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


def charge(box: Container, principal: Principal, alerts: int) -> None:
    """A batch costs its principal one rate-limit token per alert: the request took one, the rest go now, all
    or none (docs/decisions/0092). A batch bigger than the bucket's burst could never pass: 413."""
    limiter = box.limiter
    if not limiter.fits(alerts):
        raise Problem(
            413,
            "alert-batch-too-large",
            "Too many alerts in one request",
            f"limit per request: {limiter.burst} alerts (the rate limit's burst); this batch has {alerts}",
        )
    if alerts > 1 and (wait_s := limiter.take(principal.id, alerts - 1)) > 0:
        raise Problem(
            429,
            "rate-limited",
            "Too many alerts",
            f"limit per principal: {limiter.rate:g} alerts/s, bursts of {limiter.burst}; this batch costs {alerts}",
            headers={"Retry-After": retry_after_header(wait_s)},
        )


async def _handle(
    http: Request, box: ContainerDep, principal: Principal, correlation: str, raw: list[Any], form: AlertFormat
) -> Response:
    charge(box, principal, len(raw))
    return answer(await box.alerts.receive(principal.actor(), correlation, raw, form), http.url.path)


@router.post("", response_model=Results, responses=RESPONSES, summary="Generic alerts (one, or a list)")
async def generic_alerts(
    body: Annotated[dict[str, Any] | list[Any], Body(examples=[GENERIC_EXAMPLE, [GENERIC_EXAMPLE]])],
    http: Request,
    box: ContainerDep,
    correlation: CorrelationId,
    principal: Integration,
) -> Response:
    return await _handle(http, box, principal, correlation, body if isinstance(body, list) else [body], GENERIC)


@router.post("/alertmanager", response_model=Results, responses=RESPONSES, summary="Prometheus Alertmanager webhook")
async def alertmanager_webhook(
    body: a.AlertmanagerWebhook, http: Request, box: ContainerDep, correlation: CorrelationId, principal: Integration
) -> Response:
    if body.truncated_alerts:
        log.warning("alertmanager_truncated_alerts", truncated=body.truncated_alerts, group_key=body.group_key)
    charge(box, principal, len(body.alerts))
    return answer(await box.alerts.receive_alertmanager(principal.actor(), correlation, body), http.url.path)


@router.post("/grafana", response_model=Results, responses=RESPONSES, summary="Grafana alerting webhook")
async def grafana_webhook(
    body: a.GrafanaWebhook, http: Request, box: ContainerDep, correlation: CorrelationId, principal: Integration
) -> Response:
    return await _handle(http, box, principal, correlation, body.alerts, GRAFANA)
