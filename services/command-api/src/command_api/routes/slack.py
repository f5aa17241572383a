"""Slack in: POST /v1/integrations/slack/interactions (buttons) and /commands (the `/incident` slash command).

Thin: the signature and the replay check on the raw body first (401 otherwise, nothing done), then the form
(`application/x-www-form-urlencoded`, parsed here), then the Slack service. Slack shows the answer's `text` to
the person only (`ephemeral`). Without INCIDENTS_SLACK_SIGNING_SECRET both routes answer 404.
"""

import json
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from command_api.deps import CorrelationId
from command_api.problems import MEDIA_TYPE, Problem, ProblemDetails
from command_api.slack.service import SlackService
from command_api.slack.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, SlackRequestRefused

router = APIRouter(prefix="/v1/integrations/slack", tags=["slack"])
MAX_FIELDS = 100


class SlackAnswer(BaseModel):
    """A message Slack shows only to the person who typed the command or pressed the button."""

    response_type: Literal["ephemeral"] = "ephemeral"
    text: str


async def slack_service(request: Request) -> SlackService:
    slack: SlackService | None = getattr(request.app.state, "slack", None)
    if slack is None:
        raise Problem(404, "slack-disabled", "Slack is not configured", "set INCIDENTS_SLACK_SIGNING_SECRET")
    return slack


SlackDep = Annotated[SlackService, Depends(slack_service)]


def _form_body(field: str) -> dict[str, Any]:
    schema = {"type": "object", "properties": {field: {"type": "string"}}, "required": [field]}
    return {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": schema}}}}


def _problem(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/ProblemDetails"}
    return {"model": ProblemDetails, "description": description, "content": {MEDIA_TYPE: {"schema": schema}}}


ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "The answer Slack shows the person (ephemeral)"},
    400: _problem("Signed, but not a form Slack sends"),
    401: _problem("Not signed by Slack, stale (over 5 minutes) or a replay: nothing was done"),
    404: _problem("Slack is not configured (no signing secret)"),
    413: _problem("Body too large"),
    503: _problem("The read models are unavailable; see Retry-After"),
}


async def _verified_form(http: Request, slack: SlackService) -> dict[str, str]:
    body = await http.body()
    try:
        await slack.verified(http.headers.get(TIMESTAMP_HEADER), http.headers.get(SIGNATURE_HEADER), body)
    except SlackRequestRefused as refused:
        raise Problem(401, "slack-signature", "Not a request signed by Slack", refused.detail) from None
    try:
        fields = parse_qs(body.decode(), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise Problem(400, "bad-form", "Not a form Slack sends", "body: not a UTF-8 urlencoded form") from None
    return {name: values[0] for name, values in fields.items()}


@router.post(
    "/commands",
    response_model=SlackAnswer,
    responses=ANSWERS,
    summary="Slack's /incident slash command (signed by Slack)",
    openapi_extra=_form_body("text"),
)
async def slash_command(http: Request, slack: SlackDep, correlation: CorrelationId) -> SlackAnswer:
    form = await _verified_form(http, slack)
    return SlackAnswer(text=await slack.slash_command(form, correlation))


@router.post(
    "/interactions",
    response_model=SlackAnswer,
    responses=ANSWERS,
    summary="Slack's interactivity requests: the Acknowledge / Resolve buttons (signed by Slack)",
    openapi_extra=_form_body("payload"),
)
async def interaction(http: Request, slack: SlackDep, correlation: CorrelationId) -> SlackAnswer:
    form = await _verified_form(http, slack)
    try:
        payload = json.loads(form["payload"])
    except (KeyError, ValueError, RecursionError):
        raise Problem(400, "bad-form", "Not a form Slack sends", "payload: missing, or not JSON") from None
    if not isinstance(payload, dict):
        raise Problem(400, "bad-form", "Not a form Slack sends", "payload: not a JSON object")
    return SlackAnswer(text=await slack.button(payload, correlation))
