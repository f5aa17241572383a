"""Finding incidents by label on the real stack: `GET /v1/incidents?label=name:value` (repeatable, all must match)
finds the labels of an incident and those of the alerts it recorded; a malformed label is a 422 naming it."""

import uuid
from typing import Any

import httpx

from tests.integration.helpers import auth, eventually, log_incident


async def _find(api: httpx.AsyncClient, tokens: dict[str, str], *labels: str, **params: Any) -> httpx.Response:
    return await api.get("/v1/incidents", params={"label": list(labels), **params}, headers=auth(tokens, "responder"))


async def _ids(api: httpx.AsyncClient, tokens: dict[str, str], *labels: str, **params: Any) -> set[str]:
    answer = await _find(api, tokens, *labels, **params)
    assert answer.status_code == 200, answer.text
    return {item["incident_id"] for item in answer.json()["items"]}


def _notification(run: str, instances: list[str]) -> dict[str, Any]:
    alerts = [
        {
            "status": "firing",
            "labels": {"alertname": f"HighErrorRate{run}", "instance": instance, "severity": "warning"},
            "annotations": {"summary": f"errors on {instance}"},
            "startsAt": "2026-11-27T10:00:00Z",
            "fingerprint": f"{run}-{instance}",
        }
        for instance in instances
    ]
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="HighErrorRate{run}"}}',
        "status": "firing",
        "receiver": "incidents",
        "groupLabels": {"alertname": f"HighErrorRate{run}"},
        "commonLabels": {"alertname": f"HighErrorRate{run}", "severity": "warning"},
        "alerts": alerts,
    }


async def test_labels_of_the_incident_and_of_its_alerts_find_it_and_all_must_match(
    api: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    run = uuid.uuid4().hex[:8]
    posted = await api.post(
        "/v1/alerts/alertmanager",
        json=_notification(run, ["web-1:9100", "web-2:9100"]),
        headers=auth(tokens, "integration"),
    )
    assert posted.status_code == 200, posted.text
    [group] = {r["incident_id"] for r in posted.json()["results"]}
    logged = await log_incident(
        api, tokens, title="Slow checkout", impact="low", urgency="low", labels={"env": f"prod-{run}"}
    )

    async def found() -> set[str]:
        return await _ids(api, tokens, "instance:web-2:9100")  # the projector may not have written it yet

    assert group in await eventually(found, 10)
    assert await _ids(api, tokens, f"alertname:HighErrorRate{run}") == {group}, "the incident's own label"
    assert await _ids(api, tokens, f"alertname:HighErrorRate{run}", "instance:web-1:9100") == {group}
    assert await _ids(api, tokens, f"alertname:HighErrorRate{run}", "instance:web-3:9100") == set(), "all must match"
    assert await _ids(api, tokens, f"env:prod-{run}") == {logged["incident_id"]}, "an incident logged by a person"
    assert await _ids(api, tokens, f"env:prod-{run}", status="resolved") == set(), "with the other filters"


async def test_a_malformed_label_is_a_422_naming_it(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    for bad in (["alertname"], [":HighErrorRate"], ["ok:1", "no-colon"], [f"l{i}:v" for i in range(21)]):
        answer = await _find(api, tokens, *bad)
        assert answer.status_code == 422, (bad, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert all(error["loc"][:2] == ["query", "label"] for error in answer.json()["errors"]), answer.text
