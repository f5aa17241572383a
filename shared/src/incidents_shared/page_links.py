"""Signed page links: acknowledge an incident from a page without logging in (docs/decisions/0071).

A token is `base64url(claims) "." base64url(HMAC-SHA256(keys[kid], base64url(claims)))`, the claims being the
canonical JSON `{v, kid, inc, page, user, exp}`. It binds the incident, the page and the paged user; it expires at
`paged_at + ttl` (so the same page always gets the same token: a retried delivery carries the same body). Several
keys may verify (rotation); the `current` one signs. Single use is not the token's business: the incident log
refuses a second acknowledgement through the same page (`Incident.page_links_used`).
"""

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

import structlog
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from incidents_shared import addresses
from incidents_shared.domain.escalation.people import PageLinks, no_links

log = structlog.get_logger(__name__)
# (incident, page, user, paged at) -> {"acknowledge": url, "incident": url}: the escalator's `PageLinks`
# (incidents_shared.domain.escalation.people), which a page's delivery body carries.
LinkMaker = PageLinks  # what the escalator puts in a page's body (domain.escalation.people)

TOKEN_VERSION = 1
MAX_TOKEN_CHARS = 2_048  # a real token is about 250 characters; anything far longer is not worth decoding
MIN_KEY_BYTES = 16
KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_B64URL = re.compile(r"[A-Za-z0-9_-]+")
ROUTE = "/v1/page-links/"


class PageLinkError(Exception):
    """A page link that must not be honoured."""


class ForgedLink(PageLinkError):
    """Not a token this platform signed: malformed, or its signature does not match its claims."""


class UnknownKey(PageLinkError):
    """Signed with a key id none of the configured keys has (retired, or never ours)."""


class ExpiredLink(PageLinkError):
    """Genuine, but past its expiry."""

    def __init__(self, claims: "PageClaims") -> None:
        super().__init__(f"page link expired at {claims.expires_at.isoformat()}")
        self.claims = claims


@dataclass(frozen=True)
class PageClaims:
    """What a verified token says: acknowledge `incident_id` as `user`, through page `page_id`."""

    incident_id: UUID
    page_id: UUID
    user: str
    expires_at: datetime
    key_id: str


class _Claims(BaseModel):
    """The claims as signed (short names: the token travels in URLs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1]
    kid: str
    inc: UUID
    page: UUID
    user: Annotated[str, Field(min_length=1, max_length=200)]
    exp: Annotated[int, Field(ge=0, le=253_402_300_799)]  # seconds since the epoch, at most 9999-12-31


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    if not _B64URL.fullmatch(text):
        raise ForgedLink("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ForgedLink("not base64url") from exc


def _aware(at: datetime, name: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return at


class PageLinkSigner:
    """Makes and checks page links. `keys` by key id; `current` signs; any of them verifies."""

    def __init__(self, keys: dict[str, bytes], current: str, public_url: str, ttl: timedelta) -> None:
        if current not in keys:
            raise ValueError(f"current key {current!r} is not among the keys")
        if ttl <= timedelta(0):
            raise ValueError("ttl must be positive")
        self._keys = dict(keys)
        self.current = current
        self.public_url = public_url.rstrip("/")
        self.ttl = ttl

    def token(self, incident_id: UUID, page_id: UUID, user: str, paged_at: datetime) -> str:
        """The signed token of one page: the same inputs always give the same token."""
        expires = _aware(paged_at, "paged_at") + self.ttl
        claims = {
            "v": TOKEN_VERSION,
            "kid": self.current,
            "inc": str(incident_id),
            "page": str(page_id),
            "user": user,
            "exp": math.floor(expires.timestamp()),
        }
        body = _b64encode(json.dumps(claims, sort_keys=True, separators=(",", ":")).encode())
        return f"{body}.{self._mac(self._keys[self.current], body)}"

    def links(self, incident_id: UUID, page_id: UUID, user: str, paged_at: datetime) -> dict[str, str]:
        """A page's links (`PageLinks`): acknowledge, and open the incident (the same page until the console)."""
        url = f"{self.public_url}{ROUTE}{self.token(incident_id, page_id, user, paged_at)}"
        return {"acknowledge": url, "incident": url}

    def verify(self, token: str, now: datetime) -> PageClaims:
        """The claims of a genuine, unexpired token; raises ForgedLink, UnknownKey or ExpiredLink."""
        _aware(now, "now")
        if len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
            raise ForgedLink("not a page link token")
        body, signature = token.split(".")
        if not _B64URL.fullmatch(signature):
            raise ForgedLink("signature is not base64url")
        raw = _parse_json(_b64decode(body))
        kid = raw.get("kid")
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise UnknownKey(f"unknown key id {kid!r}" if isinstance(kid, str) else "no key id")
        if not hmac.compare_digest(self._mac(key, body), signature):
            raise ForgedLink("signature does not match")
        claims = _validated(raw)
        expires_at = datetime.fromtimestamp(claims.exp, UTC)
        verified = PageClaims(claims.inc, claims.page, claims.user, expires_at, claims.kid)
        if now >= verified.expires_at:
            raise ExpiredLink(verified)
        return verified

    @staticmethod
    def _mac(key: bytes, body: str) -> str:
        return _b64encode(hmac.new(key, body.encode("ascii"), hashlib.sha256).digest())


def _parse_json(raw: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(raw)
    except ValueError as exc:  # also UnicodeDecodeError
        raise ForgedLink("claims are not JSON") from exc
    if not isinstance(parsed, dict):
        raise ForgedLink("claims are not an object")
    return parsed


def _validated(raw: dict[str, Any]) -> _Claims:
    try:
        return _Claims.model_validate(raw)
    except ValidationError as exc:
        raise ForgedLink("claims of an unknown shape") from exc


# --- settings ------------------------------------------------------------------------------------------------


def parse_keys(spec: str) -> tuple[dict[str, bytes], str]:
    """`kid:hexsecret,kid2:hexsecret2` -> (keys by id, the first id). Raises ValueError naming the entry, never
    the secret."""
    keys: dict[str, bytes] = {}
    for number, entry in enumerate((e.strip() for e in spec.split(",")), start=1):
        kid, sep, secret = entry.partition(":")
        if not sep or not KEY_ID.fullmatch(kid):
            raise ValueError(f"entry {number}: expected kid:hexsecret, kid of letters, digits, '-' or '_'")
        if kid in keys:
            raise ValueError(f"entry {number}: key id {kid!r} given twice")
        try:
            key = bytes.fromhex(secret)
        except ValueError as exc:
            raise ValueError(f"entry {number} ({kid}): the secret is not hexadecimal") from exc
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"entry {number} ({kid}): the secret needs at least {MIN_KEY_BYTES} bytes")
        keys[kid] = key
    return keys, next(iter(keys))


def _invalid(message: str, value: SecretStr) -> ValidationError:
    # Raised as a ValidationError whose input is the SecretStr: start-up errors then never print the secret.
    error = PydanticCustomError("page_link_keys", "{message}", {"message": message})
    return ValidationError.from_exception_data("PageLinkSettings", [InitErrorDetails(type=error, input=value)])


class PageLinkSettings(BaseSettings):
    """The settings of page links, shared by the command API (verifies) and the escalator (signs)."""

    model_config = SettingsConfigDict(env_prefix="INCIDENTS_", extra="ignore", frozen=True)

    page_link_keys: SecretStr | None = None  # "kid:hexsecret,kid2:hexsecret2": the first signs, all verify
    page_link_ttl_s: Annotated[int, Field(ge=60, le=30 * 86_400)] = 86_400
    public_url: Annotated[str, Field(min_length=8, max_length=500)] = addresses.DEFAULT_API_URL

    @field_validator("page_link_keys")
    @classmethod
    def _keys_parse(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        try:
            parse_keys(value.get_secret_value())
        except ValueError as exc:
            raise _invalid(str(exc), value) from None
        return value

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
            raise ValueError("must be the http(s) URL people reach the command API at, e.g. https://incidents.example")
        return value.rstrip("/")


def signer_from(settings: PageLinkSettings) -> PageLinkSigner | None:
    """The signer the settings describe; None when no key is configured (pages then carry no links)."""
    if settings.page_link_keys is None:
        return None
    keys, current = parse_keys(settings.page_link_keys.get_secret_value())
    return PageLinkSigner(keys, current, settings.public_url, timedelta(seconds=settings.page_link_ttl_s))


def link_maker(settings: PageLinkSettings) -> LinkMaker:
    """What the escalator puts in a page's body: signed links, or none (with one warning) when no key is set."""
    signer = signer_from(settings)
    if signer is None:
        log.warning("page_links_disabled", reason="INCIDENTS_PAGE_LINK_KEYS is not set", effect="pages carry no links")
        return no_links
    return signer.links
