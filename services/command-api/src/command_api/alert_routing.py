"""What every alert use case shares: the payload formats, validation one alert at a time, routing a dedup key to
its incident (episodes, duplicate_of), the outcome names and the metric."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from prometheus_client import Counter
from pydantic import ValidationError

from command_api.outcomes import AlertResult
from command_api.ports import IncidentReader
from incidents_shared.domain import alert_decisions as route
from incidents_shared.domain import alerts as a
from incidents_shared.domain.state import Incident
from incidents_shared.domain.taxonomy import Taxonomy

ALERTS = Counter("api_alerts_total", "Alerts received, by source and outcome", ["source", "outcome"])
MAX_ATTEMPTS = 5  # each retry follows a rejection, i.e. progress by another writer on the same incident
MAX_HOPS = 5  # duplicate_of chains followed
OUTCOMES = {
    "incident.logged": "opened",
    "incident.alert_correlated": "correlated",
    "incident.alerts_recorded": "correlated",
    "incident.prioritized": "correlated",
    "incident.resolved": "resolved",
    "incident.note_added": "noted",
    "incident.reopened": "reopened",
}
Normalize = Callable[[dict[str, Any], a.AlertMapping, Taxonomy, datetime], a.NormalizedAlert]


@dataclass(frozen=True)
class AlertFormat:
    """A source's payload: how one alert of it is normalized, and which field names it when it is invalid."""

    normalize: Normalize
    key_field: str


def _generic(item: dict[str, Any], mapping: a.AlertMapping, taxonomy: Taxonomy, now: datetime) -> a.NormalizedAlert:
    return a.normalize_generic(a.GenericAlert.model_validate(item), mapping, taxonomy, now)


def _alertmanager(item: dict[str, Any], mapping: a.AlertMapping, taxonomy: Taxonomy, _: datetime) -> a.NormalizedAlert:
    return a.normalize_webhook(a.WebhookAlert.model_validate(item), "alertmanager", mapping, taxonomy)


def _grafana(item: dict[str, Any], mapping: a.AlertMapping, taxonomy: Taxonomy, _: datetime) -> a.NormalizedAlert:
    return a.normalize_webhook(a.GrafanaAlert.model_validate(item), "grafana", mapping, taxonomy)


GENERIC = AlertFormat(_generic, "dedup_key")
ALERTMANAGER = AlertFormat(_alertmanager, "fingerprint")
GRAFANA = AlertFormat(_grafana, "fingerprint")


def validated(
    raw: Sequence[Any], form: AlertFormat, mapping: a.AlertMapping, taxonomy: Taxonomy, now: datetime
) -> list[a.NormalizedAlert | AlertResult]:
    """Each alert normalized, or its `invalid` result naming what is wrong: a bad alert fails alone."""
    items: list[a.NormalizedAlert | AlertResult] = []
    for item in raw:
        if not isinstance(item, dict):
            items.append(AlertResult("invalid", detail="an alert is a JSON object"))
            continue
        try:
            items.append(form.normalize(item, mapping, taxonomy, now))
        except ValidationError as exc:
            key = item.get(form.key_field) if isinstance(item.get(form.key_field), str) else None
            items.append(AlertResult("invalid", key, detail="the alert is not valid", errors=error_list(exc)))
    return items


async def route_to(
    read_model: IncidentReader,
    key: str,
    firing: bool,
    policy: a.AlertPolicy,
    now: datetime,
    done: Callable[[Incident], bool] | None = None,
    owner: str | None = None,
) -> tuple[UUID, Incident | None]:
    """The incident alerts of `key` sent by `owner` address: its current episode, via duplicate_of, or the next
    episode (also when `done` says the current one takes no more: a grouping rule's window, 0077). Keys are
    namespaced by `owner` (0090): another principal's alerts of the same key never address this one's incidents.
    `owner` None: the key as it is (what only tests of routing itself use)."""
    target, next_id = current_of(owner, key, await read_model.incidents_of_key(key))
    if target is None:
        return next_id, None
    for _ in range(MAX_HOPS):
        hop = route.duplicate_target(target)
        survivor = await read_model.incident(hop) if hop is not None else None
        if survivor is None or not owns(owner, survivor):
            break  # a duplicate of another principal's incident: its alerts open their owner's next episode
        target = survivor
    if route.opens_next_episode(target, firing, policy, now) or (done is not None and done(target)):
        return next_id, None
    return target.incident_id, target


def routing_key(owner: str | None, key: str) -> str:
    """The key an owner's alerts route by: the dedup key namespaced by the principal that sends it (0090)."""
    return key if owner is None else f"{len(owner)}:{owner}:{key}"


def owns(owner: str | None, state: Incident) -> bool:
    """Whether `owner`'s alerts may act on the incident: it opened it (the authorization table's own objects)."""
    return owner is None or state.reporter == owner


def current_of(owner: str | None, key: str, known: Mapping[UUID, Incident]) -> tuple[Incident | None, UUID]:
    """The owner's current incident of `key` (None: none yet) and the id of the owner's next episode.

    The owner's namespaced episodes first; before any, a legacy one (ids from the bare key, opened before
    0090) is the owner's while it is the key's latest and the owner opened it; the next episode is namespaced."""
    scoped = routing_key(owner, key)
    episode = route.current_episode(scoped, set(known))
    if episode >= 0:
        return known[route.episode_id(scoped, episode)], route.episode_id(scoped, episode + 1)
    first = route.episode_id(scoped, 0)
    if owner is None or (legacy := route.current_episode(key, set(known))) < 0:
        return None, first
    latest = known[route.episode_id(key, legacy)]
    return (latest if owns(owner, latest) else None), first


def status_of(state: Incident | None) -> str | None:
    return state.status.value if state is not None else None


def error_list(exc: ValidationError) -> list[dict[str, Any]]:
    return [{"loc": [str(p) for p in err["loc"]], "msg": err["msg"], "type": err["type"]} for err in exc.errors()]
