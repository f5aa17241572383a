"""The public status page (no login): GET /status, GET /status/feed.atom, and the email subscriptions.

Only what was posted to the `customers` audience appears (command_api.status_view). Subscribing answers 202 the
same way for every address; confirming and unsubscribing are POSTs (a link in a mail opens a page whose button
posts: scanners prefetch GETs). The unsubscribe URL also takes RFC 8058's one-click POST.
"""

import email
import email.policy
import json
import re
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from command_api import status_html as html
from command_api.problems import Problem, problem_responses
from command_api.ratelimit import retry_after_header
from command_api.status_service import StatusPage
from command_api.status_subscriptions import ONE_CLICK, Subscriptions, normalized_email

router = APIRouter(tags=["status page"])
FORM, MULTIPART = "application/x-www-form-urlencoded", "multipart/form-data"
ATOM = "application/atom+xml"
HTML = {"text/html": {"schema": {"type": "string"}}}
Token = Annotated[str, Query(min_length=16, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")]
ONE_CLICK_SCHEMA = {
    "type": "object",
    "required": ["List-Unsubscribe"],
    "properties": {"List-Unsubscribe": {"type": "string", "enum": ["One-Click"]}},
}
ONE_CLICK_BODY = {"requestBody": {"required": True, "content": {FORM: {"schema": ONE_CLICK_SCHEMA}}}}
ACCEPTED = "If the address can receive mail, a confirmation is on its way: follow its link to start the updates."


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The problem answers `codes`, and 400 (a URL with NUL or bad UTF-8 is refused before any route)."""
    every = problem_responses()
    answers: dict[int | str, dict[str, Any]] = {code: every[code] for code in (400, *codes) if code in every}
    if 415 in codes:
        answers[415] = {**every[422], "description": "A body that is neither JSON nor a form"}
    return answers


def _html(ok: str, *codes: int, gone: bool = False) -> dict[int | str, dict[str, Any]]:
    answers: dict[int | str, dict[str, Any]] = {200: {"description": ok, "content": HTML}, **_problems(*codes)}
    if gone:
        answers[404] = {"description": "Unknown or expired link", "content": HTML}
    return answers


def _page(request: Request) -> StatusPage:
    page: StatusPage = request.app.state.status_page
    return page


def _subscriptions(page: StatusPage) -> Subscriptions:
    """The subscriptions, when this deployment can mail (else subscribing answers 404)."""
    if page.subscriptions.target is None:
        raise Problem(
            404,
            "status-subscriptions-disabled",
            "Email subscriptions are not enabled",
            "this deployment has no INCIDENTS_SMTP_URL",
        )
    return page.subscriptions


TOKEN = re.compile(r"[A-Za-z0-9_-]{16,200}")
EMAIL_FIELD = {"type": "string", "format": "email", "maxLength": 254}
TOKEN_FIELD = {"type": "string", "minLength": 16, "maxLength": 200, "pattern": "^[A-Za-z0-9_-]+$"}


def _body_schema(field: str, spec: dict[str, Any]) -> dict[str, Any]:
    schema = {"type": "object", "required": [field], "properties": {field: spec}}
    content = {"application/json": {"schema": schema}, FORM: {"schema": schema}}
    return {"requestBody": {"required": True, "content": content}}


@router.get("/status", response_class=HTMLResponse, responses=_html("The status page", 503), summary="Status page")
async def status_page(request: Request) -> Response:
    return HTMLResponse(await _page(request).page(), headers=html.PUBLIC_HEADERS)


@router.get(
    "/status/feed.atom",
    responses={200: {"description": "Atom 1.0", "content": {ATOM: {"schema": {"type": "string"}}}}, **_problems(503)},
    summary="The customers updates as an Atom feed",
)
async def status_feed(request: Request) -> Response:
    feed = await _page(request).feed()
    return Response(feed, media_type=ATOM, headers={"Cache-Control": "no-cache"})


@router.post(
    "/status/subscriptions",
    status_code=202,
    responses={
        202: {
            "description": "Accepted (the same for every address)",
            "content": {"application/json": {"schema": {"type": "object"}}, **HTML},
        },
        **_problems(404, 413, 415, 422, 429, 503),
    },
    openapi_extra=_body_schema("email", EMAIL_FIELD),
    summary="Subscribe an email address to the updates (double opt-in: a confirmation is mailed)",
)
async def subscribe(request: Request, later: BackgroundTasks) -> Response:
    page = _page(request)
    subscriptions = _subscriptions(page)
    client = request.client.host if request.client else "unknown"
    if (wait_s := page.per_client.take(f"status-subscribe:{client}")) > 0:
        raise Problem(
            429,
            "rate-limited",
            "Too many subscription requests",
            "try again later",
            headers={"Retry-After": retry_after_header(wait_s)},
        )
    fields = _fields(request.headers.get("content-type", ""), await request.body())
    address = normalized_email(fields.get("email", ""))
    if address is None:
        raise _invalid("email", "must be one mailbox, e.g. someone@example.com")
    if (confirmation := await subscriptions.subscribe(address)) is not None:
        later.add_task(subscriptions.mail, confirmation)  # after the answer: its timing tells nothing
    if _wants_html(request):
        return HTMLResponse(html.message("Check your mailbox", ACCEPTED), 202, headers=html.PUBLIC_HEADERS)
    return JSONResponse({"status": "pending", "detail": ACCEPTED}, 202)


@router.get(
    "/status/subscriptions/confirm",
    response_class=HTMLResponse,
    responses=_html("A page whose button confirms", 422, 503, gone=True),
    summary="The confirmation page of a subscription (changes nothing)",
)
async def confirm_page(request: Request, token: Token) -> Response:
    if not await _subscribers(request).is_pending(token):
        return _gone()
    text = "Press the button to start receiving updates by email."
    page = html.action("Confirm your subscription", text, "Confirm", "/status/subscriptions/confirm", {"token": token})
    return HTMLResponse(page, headers=html.TOKEN_PAGE_HEADERS)


@router.post(
    "/status/subscriptions/confirm",
    response_class=HTMLResponse,
    responses=_html("Confirmed", 413, 415, 422, 503, gone=True),
    openapi_extra=_body_schema("token", TOKEN_FIELD),
    summary="Confirm a subscription (the confirmation mail's token)",
)
async def confirm(request: Request) -> Response:
    token = _fields(request.headers.get("content-type", ""), await request.body()).get("token", "")
    if not TOKEN.fullmatch(token):
        raise _invalid("token", "the token of the confirmation mail's link")
    if not await _subscribers(request).confirm(token):
        return _gone()
    text = "You will receive an email for each update about an incident. Every mail has an unsubscribe link."
    return HTMLResponse(html.message("Subscribed", text), headers=html.TOKEN_PAGE_HEADERS)


@router.get(
    "/status/subscriptions/unsubscribe",
    response_class=HTMLResponse,
    responses=_html("A page whose button unsubscribes", 422),
    summary="The unsubscribe page (changes nothing)",
)
async def unsubscribe_page(token: Token) -> Response:
    target = f"/status/subscriptions/unsubscribe?token={token}"
    name, _, value = ONE_CLICK.partition("=")
    text = "Press the button to stop the updates and erase your address."
    page = html.action("Unsubscribe", text, "Unsubscribe", target, {name: value})
    return HTMLResponse(page, headers=html.TOKEN_PAGE_HEADERS)


@router.post(
    "/status/subscriptions/unsubscribe",
    response_class=HTMLResponse,
    responses=_html("Unsubscribed (whatever the token was: the address is not on the list)", 413, 415, 422, 503),
    openapi_extra=ONE_CLICK_BODY,
    summary="Unsubscribe and erase the address (RFC 8058 one-click: body List-Unsubscribe=One-Click)",
)
async def unsubscribe(request: Request, token: Token) -> Response:
    fields = _fields(request.headers.get("content-type", ""), await request.body(), json_allowed=False)
    if fields.get("List-Unsubscribe") != "One-Click":
        raise _invalid("List-Unsubscribe", "send the form field List-Unsubscribe=One-Click (RFC 8058)")
    await _subscribers(request).unsubscribe(token)
    text = "You will receive no more updates; your address is erased."
    return HTMLResponse(html.message("Unsubscribed", text), headers=html.TOKEN_PAGE_HEADERS)


def _subscribers(request: Request) -> Subscriptions:
    return _page(request).subscriptions  # confirming and unsubscribing need no relay


def _gone() -> Response:
    text = "This link is unknown or has expired. Subscribe again from the status page."
    return HTMLResponse(html.message("Link not valid", text), 404, headers=html.TOKEN_PAGE_HEADERS)


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "").lower()


def _invalid(field: str, message: str) -> Problem:
    errors = [{"loc": ["body", field], "msg": message, "type": "value_error"}]
    return Problem(422, "validation", "The request is not valid", f"{field}: {message}", errors=errors)


def _fields(content_type: str, raw: bytes, *, json_allowed: bool = True) -> dict[str, str]:
    """A form's fields (urlencoded or multipart) or a JSON object's string members; a Problem when unreadable."""
    media = content_type.split(";")[0].strip().lower()
    try:
        if media == FORM:
            return {k: v[-1] for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()}
        if media == MULTIPART:
            return _multipart(content_type, raw)
        if json_allowed and (media in ("", "application/json") or media.endswith("+json")):
            found = json.loads(raw) if raw.strip() else {}
            if not isinstance(found, dict):
                raise ValueError("not an object")
            return {k: v for k, v in found.items() if isinstance(v, str)}
    except ValueError:  # JSON or UTF-8 that does not decode
        raise Problem(422, "validation", "The request is not valid", "the body is not JSON or form data") from None
    raise Problem(415, "unsupported-media-type", "Send a form" + (" or JSON" if json_allowed else ""), f"not {media}")


def _multipart(content_type: str, raw: bytes) -> dict[str, str]:
    """multipart/form-data's text fields (RFC 8058 allows it for the one-click POST)."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.message_from_bytes(head + raw, policy=email.policy.HTTP)
    if not message.is_multipart():
        raise ValueError("not multipart")
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields[name] = payload.decode("utf-8").strip()
    return fields
