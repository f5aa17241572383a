"""The status routes' body reading: forms (urlencoded and multipart, as RFC 8058 allows), JSON, and refusals."""

import pytest

from command_api.problems import Problem
from command_api.routes.status import _fields

BOUNDARY = "xYzZY"
MULTIPART = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--{BOUNDARY}--\r\n'
).encode()


def test_a_one_click_post_is_read_urlencoded_or_multipart() -> None:
    assert _fields("application/x-www-form-urlencoded", b"List-Unsubscribe=One-Click") == {
        "List-Unsubscribe": "One-Click"}  # fmt: skip
    assert _fields(f"multipart/form-data; boundary={BOUNDARY}", MULTIPART) == {"List-Unsubscribe": "One-Click"}


def test_json_members_that_are_strings_are_kept() -> None:
    assert _fields("application/json", b'{"email": "a@b.test", "n": 1}') == {"email": "a@b.test"}
    assert _fields("application/json", b"") == {}


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("application/json", b"[1]", 422),
        ("application/json", b"{", 422),
        ("application/x-www-form-urlencoded", b"\xff", 422),
        ("multipart/form-data; boundary=x", b"garbage", 422),
        ("text/plain", b"x", 415),
    ],
)
def test_unreadable_bodies_are_problems(content_type: str, body: bytes, status: int) -> None:
    with pytest.raises(Problem) as refused:
        _fields(content_type, body)
    assert refused.value.status == status


def test_the_unsubscribe_route_takes_no_json() -> None:
    with pytest.raises(Problem) as refused:
        _fields("application/json", b'{"List-Unsubscribe": "One-Click"}', json_allowed=False)
    assert refused.value.status == 415
