"""Slack's request signature (v0), checked with the example Slack publishes in "Verifying requests from Slack"."""

from datetime import UTC, datetime, timedelta

import pytest

from command_api.slack.signature import MAX_SKEW, SlackRequestRefused, sign, verify

# The documented example: signing secret, X-Slack-Request-Timestamp, the raw body and X-Slack-Signature.
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TIMESTAMP = "1531420618"
BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
SIGNED_AT = datetime.fromtimestamp(1531420618, UTC)


def test_slacks_published_example_signs_and_verifies() -> None:
    assert sign(SECRET, TIMESTAMP, BODY) == SIGNATURE
    signed = verify(SECRET, TIMESTAMP, SIGNATURE, BODY, SIGNED_AT + timedelta(seconds=1))
    assert (signed.signature, signed.signed_at) == (SIGNATURE, SIGNED_AT)


@pytest.mark.parametrize(
    ("secret", "timestamp", "signature", "body", "why"),
    [
        (SECRET, TIMESTAMP, SIGNATURE, BODY + b"&x=1", "does not match"),  # a changed body
        (SECRET, TIMESTAMP, SIGNATURE, BODY.replace(b"U2CERLKJA", b"U2CERLKJB"), "does not match"),
        ("another-secret", TIMESTAMP, SIGNATURE, BODY, "does not match"),
        (SECRET, TIMESTAMP, SIGNATURE.upper().replace("V0=", "v0="), BODY, "does not match"),
        (SECRET, TIMESTAMP, "v1=" + SIGNATURE.removeprefix("v0="), BODY, "does not match"),
        (SECRET, "1531420619", SIGNATURE, BODY, "does not match"),  # the timestamp is signed too
        (SECRET, TIMESTAMP, None, BODY, "send X-Slack-Request-Timestamp and X-Slack-Signature"),
        (SECRET, None, SIGNATURE, BODY, "send X-Slack-Request-Timestamp"),
        (SECRET, "", SIGNATURE, BODY, "send X-Slack-Request-Timestamp"),
        (SECRET, "1531420618.5", SIGNATURE, BODY, "whole seconds"),
        (SECRET, "-1531420618", SIGNATURE, BODY, "whole seconds"),
        (SECRET, "١٥٣١٤٢٠٦١٨", SIGNATURE, BODY, "whole seconds"),  # digits, but not ASCII ones
        (SECRET, "9" * 40, SIGNATURE, BODY, "whole seconds"),
    ],
)
def test_anything_else_is_refused_saying_why(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, why: str
) -> None:
    with pytest.raises(SlackRequestRefused, match=why):
        verify(secret, timestamp, signature, body, SIGNED_AT)


@pytest.mark.parametrize("skew", [MAX_SKEW + timedelta(seconds=1), -MAX_SKEW - timedelta(seconds=1)])
def test_a_timestamp_more_than_five_minutes_from_now_is_refused_even_signed(skew: timedelta) -> None:
    with pytest.raises(SlackRequestRefused, match="more than 5 minutes"):
        verify(SECRET, TIMESTAMP, SIGNATURE, BODY, SIGNED_AT + skew)


@pytest.mark.parametrize("skew", [MAX_SKEW, -MAX_SKEW])
def test_five_minutes_either_way_is_still_fresh(skew: timedelta) -> None:
    assert verify(SECRET, TIMESTAMP, SIGNATURE, BODY, SIGNED_AT + skew).signature == SIGNATURE
