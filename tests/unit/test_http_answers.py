"""The one mapping from use-case outcomes to HTTP: statuses, headers and bodies, byte for byte as the API sends them."""

import json
from typing import Any
from uuid import UUID

import pytest
from fastapi import Response
from fastapi.responses import JSONResponse

from command_api.http_answers import answer, record, recorded
from command_api.outcomes import (
    Accepted,
    AlertResult,
    AlertsHandled,
    KeyReused,
    NotParked,
    Pending,
    RecordedAnswer,
    Refused,
    Rejected,
    Released,
    ReleasePending,
    Replayed,
    StillPoison,
    TooManyAlerts,
)
from command_api.routes.alerts import Results
from incidents_shared.domain.errors import IncidentNotFound, InvalidTransition, VersionConflict

INCIDENT = UUID("11111111-1111-4111-8111-111111111111")
EVENT = UUID("22222222-2222-4222-8222-222222222222")
PATH = "/v1/incidents"
STATE = '{"title": "Payments timing out", "revision": 3}'  # jsonb text, as PostgreSQL gives it
PROBLEM = "https://incidents.local/problems/"


def sent(body: Any) -> bytes:
    """What Starlette's JSONResponse sends for a JSON value."""
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def body(response: Response) -> Any:
    return json.loads(bytes(response.body))


def headers(response: Any) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k != "content-length"}


def test_accepted_create_is_201_with_the_stored_state_as_it_is_its_etag_and_location() -> None:
    response = answer(Accepted(INCIDENT, STATE, 3, created=True), PATH)
    assert response.status_code == 201
    assert response.body == STATE.encode()
    assert headers(response) == {
        "etag": '"3"',
        "location": f"/v1/incidents/{INCIDENT}",
        "content-type": "application/json",
    }


def test_accepted_transition_is_200_without_location() -> None:
    response = answer(Accepted(INCIDENT, STATE, 3, created=False), PATH)
    assert response.status_code == 200
    assert headers(response) == {"etag": '"3"', "content-type": "application/json"}


def test_pending_is_202_pointing_at_the_events_verdict() -> None:
    response = answer(Pending(EVENT), PATH)
    location = f"/v1/events/{EVENT}"
    assert response.status_code == 202
    assert response.body == sent({"status": "pending", "event_id": str(EVENT), "location": location})
    assert headers(response) == {"location": location, "retry-after": "1", "content-type": "application/json"}


@pytest.mark.parametrize(("conflict", "slug"), [(True, "version-conflict"), (False, "invalid-transition")])
def test_a_log_rejection_is_a_409_problem_with_the_event_and_revision(conflict: bool, slug: str) -> None:
    response = answer(Rejected(EVENT, conflict, "expected revision 2, incident is at revision 3", 3), PATH)
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.body == sent(
        {
            "type": PROBLEM + slug,
            "title": "The log rejected the command",
            "status": 409,
            "detail": "expected revision 2, incident is at revision 3",
            "instance": PATH,
            "event_id": str(EVENT),
            "current_version": 3,
        }
    )


def test_a_domain_refusal_is_the_domain_errors_problem_with_the_current_revision() -> None:
    response = answer(Refused(InvalidTransition("not on hold"), 4), PATH)
    assert response.status_code == 409
    assert response.body == sent(
        {
            "type": PROBLEM + "invalid-transition",
            "title": "Not allowed in the incident's current state",
            "status": 409,
            "detail": "not on hold",
            "instance": PATH,
            "current_version": 4,
        }
    )


def test_a_stale_if_match_names_the_current_revision() -> None:
    problem = body(answer(Refused(VersionConflict(2, 5), 5), PATH))
    assert (problem["type"], problem["status"], problem["current_version"]) == (PROBLEM + "version-conflict", 409, 5)


def test_an_unknown_incident_is_404_without_a_revision() -> None:
    response = answer(Refused(IncidentNotFound("incident x does not exist"), None), PATH)
    assert response.status_code == 404
    assert "current_version" not in body(response)


def test_a_reused_idempotency_key_is_422() -> None:
    response = answer(KeyReused(), PATH)
    assert response.status_code == 422
    assert response.body == sent(
        {
            "type": PROBLEM + "idempotency-key-reused",
            "title": "Idempotency-Key already used for another request",
            "status": 422,
            "detail": "send a new Idempotency-Key for a different request",
            "instance": PATH,
        }
    )


def test_a_replay_sends_the_kept_answer() -> None:
    kept = RecordedAnswer(201, {"title": "Payments timing out"}, '"3"', final=True)
    response = answer(Replayed(kept), PATH)
    assert response.status_code == 201
    assert response.body == sent({"title": "Payments timing out"})
    assert headers(response) == {"etag": '"3"', "content-type": "application/json"}


def test_what_an_idempotency_key_keeps() -> None:
    assert record(Accepted(INCIDENT, STATE, 3, created=True)) == RecordedAnswer(
        201, json.loads(STATE), '"3"', final=True
    )
    pending = record(Pending(EVENT))
    assert (pending.status, pending.etag, pending.final) == (202, None, False)
    assert pending.document == body(answer(Pending(EVENT), PATH))
    assert recorded(None, None, None) is None
    assert recorded(202, pending.document, None) == pending
    assert recorded(200, {}, '"1"') == RecordedAnswer(200, {}, '"1"', final=True)


def _public(result: AlertResult) -> dict[str, Any]:
    """The alert outcome as the route built it before the mapping moved here (the oracle)."""
    body: dict[str, Any] = {
        "dedup_key": result.dedup_key,
        "outcome": result.outcome,
        "incident_id": result.incident_id and str(result.incident_id),
        "status": result.status,
    }
    extra = {"detail": result.detail, "event_id": result.event_id and str(result.event_id), "errors": result.errors}
    return body | {k: v for k, v in extra.items() if v is not None}


def test_alert_results_are_sent_as_the_results_schema_serializes_them() -> None:
    results = [
        AlertResult("opened", "k", INCIDENT, "new", event_id=EVENT),
        AlertResult("invalid", None, detail="the alert is not valid", errors=[{"loc": ["status"], "msg": "m"}]),
        AlertResult("ignored", "k"),
    ]
    response = answer(AlertsHandled(results), "/v1/alerts")
    schema = Results.model_validate({"results": [_public(r) for r in results]}).model_dump(mode="json")
    assert response.status_code == 200
    assert response.body == JSONResponse(schema).body


def test_too_many_alerts_is_413() -> None:
    response = answer(TooManyAlerts(500), "/v1/alerts")
    assert response.status_code == 413
    assert body(response)["detail"] == "send at most 500 per request"


def test_release_outcomes() -> None:
    path = "/v1/operations/parked/k/release"
    released = answer(Released("k", 3, 2), path)
    assert (released.status_code, released.body) == (
        200,
        sent({"key": "k", "released": True, "judged": 3, "accepted": 2}),
    )
    pending = answer(ReleasePending("k", 7), path)
    assert (pending.status_code, pending.body) == (202, sent({"key": "k", "status": "pending", "request_id": 7}))
    not_parked = answer(NotParked("nothing under k"), path)
    assert not_parked.status_code == 404
    assert body(not_parked)["type"] == PROBLEM + "not-parked"
    still = answer(StillPoison("still undecodable"), path)
    assert (still.status_code, body(still)["type"]) == (409, PROBLEM + "still-poison")


def test_an_outcome_without_a_mapping_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        answer(object(), PATH)
