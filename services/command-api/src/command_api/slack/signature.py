"""Slack's request signature (v0): HMAC-SHA256 of `v0:{timestamp}:{raw body}` with the app's signing secret.

Checked before anything else, on the raw bytes of the body: the header `X-Slack-Signature` must equal the one
computed here (constant-time compare), and `X-Slack-Request-Timestamp` must be within 5 minutes of now, either way.
Replays of a genuine request inside that window are refused by `replay.SeenSignatures`.
"""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

VERSION = "v0"
MAX_SKEW = timedelta(minutes=5)
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"
_MAX_TIMESTAMP_CHARS = 12  # seconds since 1970: ten digits until the year 2286


class SlackRequestRefused(Exception):
    """Not a genuine, fresh request from Slack; `detail` says which check failed (answered with 401)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class SignedRequest:
    """What a verified request was signed with: the signature (its identity, for replays) and its time."""

    signature: str
    signed_at: datetime


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The `v0=<hex>` signature Slack sends for `body` at `timestamp`."""
    base = f"{VERSION}:{timestamp}:".encode() + body
    return f"{VERSION}=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str | None, signature: str | None, body: bytes, now: datetime) -> SignedRequest:
    """The request's signature and time when it is genuine and fresh; raises SlackRequestRefused otherwise."""
    if not timestamp or not signature:
        raise SlackRequestRefused(f"send {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} (a request signed by Slack)")
    signed_at = _instant(timestamp)
    if abs(now - signed_at) > MAX_SKEW:
        raise SlackRequestRefused(f"{TIMESTAMP_HEADER} is more than 5 minutes from now")
    expected = sign(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise SlackRequestRefused(f"{SIGNATURE_HEADER} does not match the body")
    return SignedRequest(expected, signed_at)


def _instant(timestamp: str) -> datetime:
    text = timestamp.strip()
    if not text.isascii() or not text.isdigit() or len(text) > _MAX_TIMESTAMP_CHARS:
        raise SlackRequestRefused(f"{TIMESTAMP_HEADER} must be whole seconds since 1970")
    return datetime.fromtimestamp(int(text), UTC)
