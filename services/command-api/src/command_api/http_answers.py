"""The one place where the use cases' outcomes become HTTP: status codes, headers, bodies, RFC 9457 problems.

`answer(outcome, instance)` renders any outcome; `record(outcome)` is the form an Idempotency-Key keeps, and
`recorded(...)` reads it back. `instance` is the request's path, as every problem body names it.
"""

import json
from functools import singledispatch
from typing import Any

from fastapi import Response
from fastapi.responses import JSONResponse

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
from command_api.problems import Problem, from_domain, problem_response

PENDING = 202
RETRY_PENDING_S = "1"  # a verdict usually comes within milliseconds of the wait's end


@singledispatch
def answer(outcome: object, instance: str) -> Response:
    """The HTTP answer to a use case's outcome."""
    raise TypeError(f"no HTTP answer for {type(outcome).__name__}")


# --- commands -----------------------------------------------------------------------------------------------


def _accepted_status(outcome: Accepted) -> int:
    return 201 if outcome.created else 200


def _etag(revision: int) -> str:
    return f'"{revision}"'


def _location(event_id: object) -> str:
    return f"/v1/events/{event_id}"


def _pending_body(outcome: Pending) -> dict[str, Any]:
    return {"status": "pending", "event_id": str(outcome.event_id), "location": _location(outcome.event_id)}


@answer.register
def _(outcome: Accepted, instance: str) -> Response:
    # The state is the incident's JSON as the fold wrote it: sent as it is, undecoded.
    headers = {"ETag": _etag(outcome.revision)}
    if outcome.created:
        headers["Location"] = f"/v1/incidents/{outcome.incident_id}"
    return Response(outcome.state_json, _accepted_status(outcome), headers, media_type="application/json")


@answer.register
def _(outcome: Pending, instance: str) -> Response:
    headers = {"Location": _location(outcome.event_id), "Retry-After": RETRY_PENDING_S}
    return JSONResponse(_pending_body(outcome), status_code=PENDING, headers=headers)


@answer.register
def _(outcome: Rejected, instance: str) -> Response:
    slug = "version-conflict" if outcome.conflict else "invalid-transition"
    problem = Problem(
        409,
        slug,
        "The log rejected the command",
        outcome.reason,
        event_id=str(outcome.event_id),
        current_version=outcome.revision,
    )
    return problem_response(problem, instance)


@answer.register
def _(outcome: Refused, instance: str) -> Response:
    extra = {"current_version": outcome.revision} if outcome.revision is not None else {}
    return problem_response(from_domain(outcome.error, **extra), instance)


@answer.register
def _(outcome: KeyReused, instance: str) -> Response:
    problem = Problem(
        422,
        "idempotency-key-reused",
        "Idempotency-Key already used for another request",
        "send a new Idempotency-Key for a different request",
    )
    return problem_response(problem, instance)


@answer.register
def _(outcome: Replayed, instance: str) -> Response:
    recorded_answer = outcome.answer
    headers = {"ETag": recorded_answer.etag} if recorded_answer.etag else {}
    return JSONResponse(recorded_answer.document, status_code=recorded_answer.status, headers=headers)


def record(outcome: Accepted | Pending) -> RecordedAnswer:
    """The answer as an Idempotency-Key keeps it, to replay to every retry (a pending one is not final)."""
    if isinstance(outcome, Accepted):
        state = json.loads(outcome.state_json)
        return RecordedAnswer(_accepted_status(outcome), state, _etag(outcome.revision), final=True)
    return RecordedAnswer(PENDING, _pending_body(outcome), None, final=False)


def recorded(status: int | None, document: Any, etag: str | None) -> RecordedAnswer | None:
    """A kept answer read back; None when the first attempt has not stored one."""
    return None if status is None else RecordedAnswer(status, document, etag, final=status != PENDING)


# --- alerts -------------------------------------------------------------------------------------------------


def _alert_json(result: AlertResult) -> dict[str, Any]:
    """One alert's outcome, every field of the `Outcome` schema in its order (null when unset)."""
    return {
        "dedup_key": result.dedup_key,
        "outcome": result.outcome,
        "incident_id": str(result.incident_id) if result.incident_id else None,
        "status": result.status,
        "detail": result.detail,
        "event_id": str(result.event_id) if result.event_id else None,
        "errors": result.errors,
    }


@answer.register
def _(outcome: AlertsHandled, instance: str) -> Response:
    return JSONResponse({"results": [_alert_json(result) for result in outcome.results]})


@answer.register
def _(outcome: TooManyAlerts, instance: str) -> Response:
    problem = Problem(
        413, "too-many-alerts", "Too many alerts in one request", f"send at most {outcome.limit} per request"
    )
    return problem_response(problem, instance)


# --- releasing a parked incident ----------------------------------------------------------------------------


@answer.register
def _(outcome: Released, instance: str) -> Response:
    return JSONResponse({"key": outcome.key, "released": True, "judged": outcome.judged, "accepted": outcome.accepted})


@answer.register
def _(outcome: NotParked, instance: str) -> Response:
    return problem_response(Problem(404, "not-parked", "Nothing is parked under this key", outcome.detail), instance)


@answer.register
def _(outcome: StillPoison, instance: str) -> Response:
    problem = Problem(409, "still-poison", "The poison record still cannot be judged; it stays parked", outcome.detail)
    return problem_response(problem, instance)


@answer.register
def _(outcome: ReleasePending, instance: str) -> Response:
    body = {"key": outcome.key, "status": "pending", "request_id": outcome.request_id}
    return JSONResponse(body, status_code=PENDING)
