"""Personal API tokens on the real stack: issued once, the person acts as themselves (the log names them), only
the hash is on the directory topic, a token never exceeds its user's role, and revoked or orphaned tokens get 401."""

import hashlib
import uuid
from typing import Any

import httpx
import pytest

from incidents_shared.domain.events import IncidentAcknowledged
from incidents_shared.settings import CommonSettings
from tests.integration.helpers import auth, events_in_log, log_incident, topic_end, topic_records

pytestmark = pytest.mark.usefixtures("services")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def a_person(api: httpx.AsyncClient, tokens: dict[str, str], role: str = "responder") -> str:
    user_id = f"pat-{uuid.uuid4().hex[:8]}"
    body = {"id": user_id, "name": "Pat", "email": f"{user_id}@example.com", "time_zone": "UTC", "role": role}
    response = await api.post("/v1/users", json=body, headers=auth(tokens, "admin"))
    assert response.status_code == 201, response.text
    return user_id


async def issue(api: httpx.AsyncClient, headers: dict[str, str], user: str, **body: Any) -> httpx.Response:
    return await api.post(f"/v1/users/{user}/tokens", json=body, headers=headers)


async def test_a_person_acts_as_themselves_until_the_token_is_revoked(
    api: httpx.AsyncClient, tokens: dict[str, str], settings: CommonSettings
) -> None:
    pat = await a_person(api, tokens)
    before = await topic_end(settings, settings.directory_topic)
    issued = await issue(api, auth(tokens, "admin"), pat, label="laptop")
    assert issued.status_code == 201, issued.text
    shown = issued.json()
    secret = shown.pop("token")
    assert secret.startswith("inc_") and len(secret) > 40
    assert shown == {"id": shown["id"], "user": pat, "role": "responder", "label": "laptop"}

    [record] = await topic_records(settings, settings.directory_topic, start=before)
    assert record.key == f"token:{shown['id']}"
    assert hashlib.sha256(secret.encode()).hexdigest().encode() in record.value
    assert secret.encode() not in record.value

    listed = (await api.get(f"/v1/users/{pat}/tokens", headers=bearer(secret))).json()["tokens"]
    assert listed == [shown]  # ids, roles and labels; never the token
    incident = await log_incident(api, tokens)
    acked = await api.post(f"/v1/incidents/{incident['incident_id']}/acknowledge", json={}, headers=bearer(secret))
    assert acked.status_code == 200, acked.text
    [ack] = [e for e in await events_in_log(settings, incident["incident_id"]) if isinstance(e, IncidentAcknowledged)]
    assert (ack.actor.id, ack.actor.kind, ack.actor.role) == (pat, "user", "responder")

    revoked = await api.delete(f"/v1/users/{pat}/tokens/{shown['id']}", headers=bearer(secret))
    assert revoked.status_code == 204, revoked.text
    other = await log_incident(api, tokens)
    refused = await api.post(f"/v1/incidents/{other['incident_id']}/acknowledge", json={}, headers=bearer(secret))
    assert refused.status_code == 401, refused.text
    assert (await api.get(f"/v1/users/{pat}/tokens", headers=auth(tokens, "admin"))).json() == {"tokens": []}


async def test_people_change_their_own_profile_but_not_their_role(
    api: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    pat = await a_person(api, tokens)
    secret = (await issue(api, auth(tokens, "admin"), pat)).json()["token"]
    mine = (await api.get(f"/v1/users/{pat}", headers=bearer(secret))).json()
    renamed = await api.put(f"/v1/users/{pat}", json=mine | {"name": "Pat Smith"}, headers=bearer(secret))
    assert (renamed.status_code, renamed.json()["name"]) == (200, "Pat Smith")
    promoted = await api.put(f"/v1/users/{pat}", json=mine | {"role": "admin"}, headers=bearer(secret))
    assert promoted.status_code == 403, promoted.text
    someone = await a_person(api, tokens)
    theirs = (await api.get(f"/v1/users/{someone}", headers=bearer(secret))).json()
    assert (await api.put(f"/v1/users/{someone}", json=theirs, headers=bearer(secret))).status_code == 403
    assert (await issue(api, bearer(secret), someone)).status_code == 403
    assert (await api.get(f"/v1/users/{someone}/tokens", headers=bearer(secret))).status_code == 403


async def test_a_token_never_exceeds_its_user_role(api: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    pat = await a_person(api, tokens, role="responder")
    too_high = await issue(api, auth(tokens, "admin"), pat, role="manager")
    assert too_high.status_code == 422, too_high.text
    assert too_high.json()["field"] == "role"
    narrow = (await issue(api, auth(tokens, "admin"), pat, role="reporter")).json()
    assert narrow["role"] == "reporter"
    # A reporter-scoped token mints at most reporter tokens: by default, and never wider when asked.
    assert (await issue(api, bearer(narrow["token"]), pat)).json()["role"] == "reporter"
    assert (await issue(api, bearer(narrow["token"]), pat, role="responder")).status_code == 403
    incident = await log_incident(api, tokens)
    acked = await api.post(
        f"/v1/incidents/{incident['incident_id']}/acknowledge", json={}, headers=bearer(narrow["token"])
    )
    assert acked.status_code == 403, acked.text


async def test_a_deleted_user_tokens_stop_working_and_a_retry_never_shows_a_token_again(
    api: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    pat = await a_person(api, tokens)
    key = {"Idempotency-Key": f"token-{pat}"}
    first = await issue(api, auth(tokens, "admin", **key), pat, label="ci")
    again = await issue(api, auth(tokens, "admin", **key), pat, label="ci")
    assert first.status_code == again.status_code == 201, again.text
    assert "token" in first.json() and "token" not in again.json()
    assert again.json() == {k: v for k, v in first.json().items() if k != "token"}
    secret = first.json()["token"]
    assert (await api.get(f"/v1/users/{pat}", headers=bearer(secret))).status_code == 200
    assert (await api.delete(f"/v1/users/{pat}", headers=auth(tokens, "admin"))).status_code == 204
    assert (await api.get("/v1/users", headers=bearer(secret))).status_code == 401
