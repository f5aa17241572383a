"""Who is on call over HTTP: a layer's hand-over at local wall-clock time across DST, an override over its layer,
a gap, shifts equal to the iCalendar feed (parsed with `icalendar`), and everyone on call now per team."""

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from icalendar import Calendar

from tests.integration.helpers import auth

pytestmark = pytest.mark.usefixtures("services")
AMSTERDAM_SPRING = "2027-03-28"  # clocks go from 02:00 CET to 03:00 CEST: 09:00 local is 07:00Z from this day


def tag() -> str:
    return uuid.uuid4().hex[:8]


async def create(api: httpx.AsyncClient, tokens: dict[str, str], path: str, body: dict[str, Any]) -> None:
    response = await api.post(path, json=body, headers=auth(tokens, "admin"))
    assert response.status_code == 201, response.text


async def read(api: httpx.AsyncClient, tokens: dict[str, str], path: str, **params: str) -> Any:
    response = await api.get(path, params=params, headers=auth(tokens, "reporter"))
    assert response.status_code == 200, response.text
    return response


def person(user_id: str) -> dict[str, Any]:
    return {"id": user_id, "name": user_id, "email": f"{user_id}@example.com", "time_zone": "UTC", "role": "responder"}


@pytest.fixture
async def rota(api: httpx.AsyncClient, tokens: dict[str, str]) -> dict[str, str]:
    """A daily rota handing over at 09:00 Europe/Amsterdam between ann and bob, cid covering an afternoon."""
    suffix = tag()
    names = {"ann": f"ann-{suffix}", "bob": f"bob-{suffix}", "cid": f"cid-{suffix}", "rota": f"rota-{suffix}"}
    for who in ("ann", "bob", "cid"):
        await create(api, tokens, "/v1/users", person(names[who]))
    layer = {"name": "daily", "start": "2027-03-22T09:00:00", "turn": "P1D", "users": [names["ann"], names["bob"]]}
    schedule = {"id": names["rota"], "name": "Payments", "time_zone": "Europe/Amsterdam", "layers": [layer]}
    await create(api, tokens, "/v1/schedules", schedule)
    cover = {"user": names["cid"], "start": f"{AMSTERDAM_SPRING}T10:00:00Z", "end": f"{AMSTERDAM_SPRING}T14:00:00Z"}
    await create(api, tokens, f"/v1/schedules/{names['rota']}/overrides", cover)
    return names


async def oncall(api: httpx.AsyncClient, tokens: dict[str, str], schedule: str, at: str) -> dict[str, Any]:
    answer: dict[str, Any] = (await read(api, tokens, f"/v1/schedules/{schedule}/oncall", at=at)).json()
    return answer


async def test_the_hand_over_keeps_local_time_and_an_override_wins(
    api: httpx.AsyncClient, tokens: dict[str, str], rota: dict[str, str]
) -> None:
    schedule = rota["rota"]
    # 2027-03-27 09:00 CET (08:00Z) to 2027-03-28 09:00 CEST (07:00Z) is turn 5: bob; then turn 6: ann.
    before = await oncall(api, tokens, schedule, f"{AMSTERDAM_SPRING}T06:30:00Z")
    assert (before["user"], before["source"]) == (rota["bob"], "daily")
    assert (before["since"], before["until"]) == ("2027-03-27T08:00:00.000000Z", f"{AMSTERDAM_SPRING}T07:00:00.000000Z")
    covered = await oncall(api, tokens, schedule, f"{AMSTERDAM_SPRING}T12:00:00Z")
    assert (covered["user"], covered["source"], covered["until"]) == (
        rota["cid"],
        "override",
        f"{AMSTERDAM_SPRING}T14:00:00.000000Z",
    )
    after = await oncall(api, tokens, schedule, f"{AMSTERDAM_SPRING}T15:00:00Z")
    assert (after["user"], after["since"], after["until"]) == (
        rota["ann"],
        f"{AMSTERDAM_SPRING}T14:00:00.000000Z",
        "2027-03-29T07:00:00.000000Z",
    )
    gap = await oncall(api, tokens, schedule, "2027-03-01T00:00:00Z")  # before the rotation starts: nobody
    assert (gap["user"], gap["source"], gap["until"]) == (None, "gap", "2027-03-22T08:00:00.000000Z")


async def test_shifts_list_the_gaps_and_equal_the_ical_feed(
    api: httpx.AsyncClient, tokens: dict[str, str], rota: dict[str, str]
) -> None:
    period = {"from": "2027-03-21T00:00:00Z", "until": "2027-03-30T00:00:00Z"}
    listed = (await read(api, tokens, f"/v1/schedules/{rota['rota']}/shifts", **period)).json()
    assert listed["gaps"] == [
        {"user": None, "source": "gap", "start": "2027-03-21T00:00:00.000000Z", "end": "2027-03-22T08:00:00.000000Z"}
    ]
    staffed = [(s["user"], _utc(s["start"]), _utc(s["end"])) for s in listed["shifts"] if s["user"] is not None]
    assert (rota["cid"], _utc("2027-03-28T10:00:00Z"), _utc("2027-03-28T14:00:00Z")) in staffed
    assert len(staffed) == 10  # turns 0-5, ann's turn 6 cut in two by cid's override, and the start of turn 7

    feed = await read(api, tokens, f"/v1/schedules/{rota['rota']}.ics", **period)
    assert feed.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(feed.content)
    events = [
        (str(event["summary"]).removeprefix("On call: "), event.decoded("dtstart"), event.decoded("dtend"))
        for event in calendar.walk("VEVENT")
    ]
    assert [(user, start.astimezone(UTC), end.astimezone(UTC)) for user, start, end in events] == staffed
    assert len({str(event["uid"]) for event in calendar.walk("VEVENT")}) == len(events)


async def test_everyone_on_call_now_per_team(
    api: httpx.AsyncClient, tokens: dict[str, str], rota: dict[str, str]
) -> None:
    suffix = tag()
    team, bare, weekly = f"payments-{suffix}", f"bare-{suffix}", f"weekly-{suffix}"
    members = [rota["ann"], rota["bob"]]
    layer = {"name": "weekly", "start": "2026-01-05T09:00:00", "turn": "P1W", "users": members}
    await create(
        api, tokens, "/v1/schedules", {"id": weekly, "name": "W", "time_zone": "Europe/Amsterdam", "layers": [layer]}
    )
    await create(api, tokens, "/v1/teams", {"id": team, "name": "Payments", "members": members, "schedule": weekly})
    await create(api, tokens, "/v1/teams", {"id": bare, "name": "No rota", "members": [rota["cid"]]})
    now = (await read(api, tokens, "/v1/oncall")).json()
    by_team = {entry["team"]: entry for entry in now["oncall"]}
    direct = await oncall(api, tokens, weekly, now["at"])
    assert by_team[team] == {
        "team": team,
        "schedule": weekly,
        "user": direct["user"],
        "source": "weekly",
        "until": direct["until"],
    }
    assert direct["user"] in members
    assert by_team[bare] == {"team": bare, "schedule": None, "user": None, "source": None, "until": None}


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
