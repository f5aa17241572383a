"""Hand-overs across both 2027 daylight-saving changes, in Europe/Amsterdam and America/New_York, over HTTP: a
weekly rota handing over at 09:00 local hands over at 09:00 local on the days the clocks change, so those turns
last 167 and 169 hours; the answers are checked against the UTC instants a person would work out by hand."""

import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.integration.helpers import auth

pytestmark = pytest.mark.usefixtures("services")

# (zone, a Monday before the change, the change's Sunday; 09:00 local the next day in UTC before and after the change)
CHANGES = [
    ("Europe/Amsterdam", "2027-03-22", "spring", "08:00", "07:00"),  # CET -> CEST on Sunday 28 March
    ("Europe/Amsterdam", "2027-10-25", "autumn", "07:00", "08:00"),  # CEST -> CET on Sunday 31 October
    ("America/New_York", "2027-03-08", "spring", "14:00", "13:00"),  # EST -> EDT on Sunday 14 March
    ("America/New_York", "2027-11-01", "autumn", "13:00", "14:00"),  # EDT -> EST on Sunday 7 November
]


async def _post(api: httpx.AsyncClient, tokens: dict[str, str], path: str, body: dict[str, Any]) -> None:
    answer = await api.post(path, json=body, headers=auth(tokens, "admin"))
    assert answer.status_code == 201, answer.text


async def _oncall(api: httpx.AsyncClient, tokens: dict[str, str], schedule: str, at: str) -> dict[str, Any]:
    answer = await api.get(f"/v1/schedules/{schedule}/oncall", params={"at": at}, headers=auth(tokens, "responder"))
    assert answer.status_code == 200, answer.text
    shown: dict[str, Any] = answer.json()
    return shown


def _day(monday: str, plus: int) -> str:
    return (date.fromisoformat(monday) + timedelta(days=plus)).isoformat()


@pytest.mark.parametrize(("zone", "monday", "change", "before", "after"), CHANGES, ids=lambda v: str(v))
async def test_a_weekly_hand_over_stays_at_nine_local_across_the_change(
    api: httpx.AsyncClient, tokens: dict[str, str], zone: str, monday: str, change: str, before: str, after: str
) -> None:
    run = uuid.uuid4().hex[:8]
    ann, bob, schedule = f"ann-{run}", f"bob-{run}", f"weekly-{run}"
    for who in (ann, bob):
        await _post(api, tokens, "/v1/users", {"id": who, "name": who, "email": f"{who}@example.com",
                                               "time_zone": zone, "role": "responder"})  # fmt: skip
    layer = {"name": "weekly", "start": f"{monday}T09:00:00", "turn": "P1W", "users": [ann, bob]}
    await _post(api, tokens, "/v1/schedules", {"id": schedule, "name": "Weekly", "time_zone": zone, "layers": [layer]})

    first = await _oncall(api, tokens, schedule, f"{_day(monday, 1)}T12:00:00Z")
    next_monday = _day(monday, 7)
    assert (first["user"], first["source"]) == (ann, "weekly")
    assert first["until"] == f"{next_monday}T{after}:00.000000Z", f"09:00 local after the {change} change"
    assert first["since"] == f"{monday}T{before}:00.000000Z", "09:00 local before it"

    handed_over = await _oncall(api, tokens, schedule, f"{next_monday}T{after}:00Z")
    assert handed_over["user"] == bob, "the hand-over happens at the local wall-clock time"
    a_minute_earlier = f"{next_monday}T{_minus_a_minute(after)}:00Z"
    assert (await _oncall(api, tokens, schedule, a_minute_earlier))["user"] == ann


def _minus_a_minute(hh_mm: str) -> str:
    hours, minutes = (int(x) for x in hh_mm.split(":"))
    total = hours * 60 + minutes - 1
    return f"{total // 60:02d}:{total % 60:02d}"
