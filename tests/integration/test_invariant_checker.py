"""`incidentctl verify` against the real log and read model: quiet when they agree, precise when not.

In-process (typer's runner), so it decodes the log like the session's own final check does.
"""

import asyncio

import asyncpg
import httpx
from typer.testing import CliRunner

from incidentctl.main import app
from incidents_shared.settings import CommonSettings
from tests.integration.helpers import auth


async def _execute(settings: CommonSettings, sql: str, *args: object) -> None:
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


def test_verify_finds_a_tampered_revision(api_url: str, tokens: dict[str, str], settings: CommonSettings) -> None:
    with httpx.Client(base_url=api_url, timeout=30) as client:
        created = client.post(
            "/v1/incidents", json={"title": "verify me", "service": "v"}, headers=auth(tokens, "reporter")
        )
    incident_id = created.json()["incident_id"]
    clean = CliRunner().invoke(app, ["verify"])
    assert clean.exit_code == 0, clean.output
    assert " 0 differences" in clean.output

    asyncio.run(_execute(settings, "UPDATE incidents SET revision = 42 WHERE incident_id = $1::uuid", incident_id))
    try:
        tampered = CliRunner().invoke(app, ["verify"])
    finally:
        asyncio.run(_execute(settings, "UPDATE incidents SET revision = 1 WHERE incident_id = $1::uuid", incident_id))
    assert tampered.exit_code == 1
    assert f"incident {incident_id}: revision is 42, the log gives 1" in tampered.output
    assert CliRunner().invoke(app, ["verify"]).exit_code == 0
