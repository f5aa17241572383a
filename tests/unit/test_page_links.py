"""Signed page links: a genuine link verifies until it expires; anything changed, or signed with another key, fails."""

import base64
import json
import os
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from incidents_shared.page_links import (
    ExpiredLink,
    ForgedLink,
    PageLinkError,
    PageLinkSettings,
    PageLinkSigner,
    UnknownKey,
    link_maker,
    parse_keys,
    signer_from,
)
from incidents_shared.settings import describe_errors

INCIDENT = UUID("0c1f2b4e-5d6a-4b7c-8d9e-0f1a2b3c4d5e")
PAGE = UUID("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d")
PAGED_AT = datetime(2027, 3, 28, 8, 30, tzinfo=UTC)
DAY = timedelta(days=1)
KEY_A = bytes.fromhex("11" * 32)
KEY_B = bytes.fromhex("22" * 32)
URL = "https://incidents.example"
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def signer(keys: dict[str, bytes] | None = None, current: str = "a", ttl: timedelta = DAY) -> PageLinkSigner:
    return PageLinkSigner(keys or {"a": KEY_A}, current, URL, ttl)


def token() -> str:
    return signer().token(INCIDENT, PAGE, "alice", PAGED_AT)


def claims_of(value: str) -> dict[str, object]:
    body = value.split(".")[0]
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return decoded


def resigned(claims: dict[str, object], key: bytes = KEY_A) -> str:
    """A token whose claims were edited, then signed again with `key` (as only a key holder could)."""
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{body}.{PageLinkSigner._mac(key, body)}"


def test_a_genuine_link_verifies_to_its_claims() -> None:
    claims = signer().verify(token(), PAGED_AT + timedelta(hours=1))

    assert claims.incident_id == INCIDENT
    assert claims.page_id == PAGE
    assert claims.user == "alice"
    assert claims.expires_at == PAGED_AT + DAY
    assert claims.key_id == "a"


def test_the_token_is_compact_url_safe_and_carries_the_canonical_claims() -> None:
    value = token()

    assert set(value) <= set(B64URL + ".") and len(value) < 300
    assert claims_of(value) == {
        "v": 1,
        "kid": "a",
        "inc": str(INCIDENT),
        "page": str(PAGE),
        "user": "alice",
        "exp": int((PAGED_AT + DAY).timestamp()),
    }


def test_links_point_at_the_page_link_route_for_both_acknowledge_and_incident() -> None:
    links = signer().links(INCIDENT, PAGE, "alice", PAGED_AT)

    assert links == {"acknowledge": f"{URL}/v1/page-links/{token()}", "incident": f"{URL}/v1/page-links/{token()}"}


def test_the_same_page_always_gets_the_same_links() -> None:
    """A delivery retried after a crash carries the same body: links depend only on their inputs."""
    first = signer().links(INCIDENT, PAGE, "alice", PAGED_AT)
    again = PageLinkSigner({"a": KEY_A}, "a", URL + "/", DAY).links(INCIDENT, PAGE, "alice", PAGED_AT)
    paged_elsewhere = PAGED_AT.astimezone(timezone(timedelta(hours=2)))

    assert again == first
    assert signer().links(INCIDENT, PAGE, "alice", paged_elsewhere) == first
    assert signer().links(INCIDENT, uuid4(), "alice", PAGED_AT) != first


def test_a_link_expires_at_paged_at_plus_ttl() -> None:
    short = signer(ttl=timedelta(minutes=10))
    value = short.token(INCIDENT, PAGE, "alice", PAGED_AT)

    assert short.verify(value, PAGED_AT + timedelta(minutes=9, seconds=59)).user == "alice"
    with pytest.raises(ExpiredLink) as expired:
        short.verify(value, PAGED_AT + timedelta(minutes=10))
    assert expired.value.claims.page_id == PAGE


@pytest.mark.parametrize(
    ("claim", "value"),
    [("user", "mallory"), ("inc", str(uuid4())), ("page", str(uuid4())), ("exp", 4_102_444_800)],
)
def test_an_edited_claim_with_the_old_signature_is_forged(claim: str, value: object) -> None:
    signature = token().split(".")[1]
    edited = resigned({**claims_of(token()), claim: value}).split(".")[0]

    with pytest.raises(ForgedLink):
        signer().verify(f"{edited}.{signature}", PAGED_AT)


def test_a_link_signed_with_a_key_of_another_platform_is_forged() -> None:
    other = PageLinkSigner({"a": KEY_B}, "a", URL, DAY).token(INCIDENT, PAGE, "alice", PAGED_AT)

    with pytest.raises(ForgedLink):
        signer().verify(other, PAGED_AT)


def test_a_key_id_nobody_configured_is_unknown() -> None:
    retired = PageLinkSigner({"old": KEY_B}, "old", URL, DAY).token(INCIDENT, PAGE, "alice", PAGED_AT)

    with pytest.raises(UnknownKey):
        signer().verify(retired, PAGED_AT)


def test_rotation_signs_with_the_current_key_and_still_verifies_the_old_one() -> None:
    before = signer({"a": KEY_A}, "a").token(INCIDENT, PAGE, "alice", PAGED_AT)
    rotated = signer({"b": KEY_B, "a": KEY_A}, "b")
    after = rotated.token(INCIDENT, PAGE, "alice", PAGED_AT)

    assert claims_of(after)["kid"] == "b"
    assert rotated.verify(before, PAGED_AT).key_id == "a"
    assert rotated.verify(after, PAGED_AT).key_id == "b"


@pytest.mark.parametrize(
    "value",
    ["", ".", "abc", "a.b.c", "!!!.xyz", "e30.", "e30.AAAA", "W10.AAAA", "bm90IGpzb24.AAAA", "ä.b", "a" * 3000],
)
def test_garbage_is_forged_or_unknown_never_a_crash(value: str) -> None:
    with pytest.raises(PageLinkError):
        signer().verify(value, PAGED_AT)


def test_a_signed_token_of_an_unknown_shape_is_forged() -> None:
    """Even a key holder cannot make the verifier accept claims other than those it signs."""
    with pytest.raises(ForgedLink):
        signer().verify(resigned({**claims_of(token()), "v": 2}), PAGED_AT)
    with pytest.raises(ForgedLink):
        signer().verify(resigned({**claims_of(token()), "role": "admin"}), PAGED_AT)


@settings(max_examples=400)
@given(position=st.integers(min_value=0), replacement=st.sampled_from(B64URL + ".="))
def test_any_changed_character_makes_the_link_fail(position: int, replacement: str) -> None:
    value = token()
    index = position % len(value)
    if value[index] == replacement:
        replacement = "A" if replacement != "A" else "B"
    tampered = value[:index] + replacement + value[index + 1 :]

    with pytest.raises(PageLinkError):
        signer().verify(tampered, PAGED_AT)


@settings(max_examples=200)
@given(user=st.text(min_size=1, max_size=60), minutes=st.integers(min_value=1, max_value=60 * 24 * 30))
def test_round_trip_for_any_user_and_ttl(user: str, minutes: int) -> None:
    made = signer(ttl=timedelta(minutes=minutes))
    claims = made.verify(made.token(INCIDENT, PAGE, user, PAGED_AT), PAGED_AT)

    assert (claims.user, claims.expires_at) == (user, PAGED_AT + timedelta(minutes=minutes))


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        signer().token(INCIDENT, PAGE, "alice", datetime(2027, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        signer().verify(token(), datetime(2027, 1, 1))


# --- settings ------------------------------------------------------------------------------------------------


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("INCIDENTS_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_keys_parse_in_order_the_first_signs() -> None:
    keys, current = parse_keys(f"new:{'22' * 32}, old:{'11' * 16}")

    assert keys == {"new": KEY_B, "old": bytes.fromhex("11" * 16)}
    assert current == "new"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nokey", "expected kid:hexsecret"),
        (f"bad kid:{'11' * 32}", "expected kid:hexsecret"),
        (f"a:{'zz' * 32}", "not hexadecimal"),
        ("a:1122", "at least 16 bytes"),
        (f"a:{'11' * 32},a:{'22' * 32}", "given twice"),
    ],
)
def test_wrong_keys_are_named_without_the_secret(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        parse_keys(spec)
    assert "1122" not in str(raised.value) and "11" * 16 not in str(raised.value)


def test_settings_default_to_no_key_a_day_and_the_local_api(clean_environment: pytest.MonkeyPatch) -> None:
    configured = PageLinkSettings()

    assert (configured.page_link_keys, configured.page_link_ttl_s) == (None, 86_400)
    assert configured.public_url == "http://127.0.0.1:8000"
    assert signer_from(configured) is None
    assert link_maker(configured)(INCIDENT, PAGE, "alice", PAGED_AT) == {}


def test_settings_build_the_signer(clean_environment: pytest.MonkeyPatch) -> None:
    clean_environment.setenv("INCIDENTS_PAGE_LINK_KEYS", f"k2:{'22' * 32},k1:{'11' * 32}")
    clean_environment.setenv("INCIDENTS_PAGE_LINK_TTL_S", "3600")
    clean_environment.setenv("INCIDENTS_PUBLIC_URL", "https://incidents.example/")

    made = signer_from(PageLinkSettings())

    assert made is not None
    assert (made.current, made.ttl, made.public_url) == ("k2", timedelta(hours=1), URL)
    assert link_maker(PageLinkSettings())(INCIDENT, PAGE, "alice", PAGED_AT)["acknowledge"].startswith(URL + "/v1/")


def test_a_wrong_key_setting_stops_start_up_without_printing_the_secret(clean_environment: pytest.MonkeyPatch) -> None:
    clean_environment.setenv("INCIDENTS_PAGE_LINK_KEYS", "k1:deadbeefcafe")

    with pytest.raises(ValidationError) as raised:
        PageLinkSettings()
    described = describe_errors(PageLinkSettings, raised.value)

    assert "INCIDENTS_PAGE_LINK_KEYS" in described and "at least 16 bytes" in described
    assert "deadbeefcafe" not in described and "deadbeefcafe" not in str(raised.value)


@pytest.mark.parametrize(("name", "value"), [("INCIDENTS_PUBLIC_URL", "ftp://x"), ("INCIDENTS_PAGE_LINK_TTL_S", "0")])
def test_other_wrong_values_are_named(clean_environment: pytest.MonkeyPatch, name: str, value: str) -> None:
    clean_environment.setenv(name, value)

    with pytest.raises(ValidationError) as raised:
        PageLinkSettings()
    assert name in describe_errors(PageLinkSettings, raised.value)
