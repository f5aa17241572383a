"""`incidentctl audit verify` finds edited, deleted and inserted events and rewritten or forged checkpoints."""

import asyncio
import json
import os
import subprocess
import uuid

import asyncpg
import httpx

from incidents_shared.audit import sign
from tests.integration.helpers import auth, log_incident
from tests.integration.services import BIN


def _audit() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "incidentctl"), "audit", "verify"], capture_output=True, text=True, timeout=120, check=False
    )


async def _two_incidents(api: httpx.AsyncClient, tokens: dict[str, str]) -> tuple[str, str]:
    a = (await log_incident(api, tokens, title="audited A"))["incident_id"]
    b = (await log_incident(api, tokens, title="audited B"))["incident_id"]
    for incident, texts in ((a, ["first", "second"]), (b, ["only"])):
        for text in texts:
            answer = await api.post(
                f"/v1/incidents/{incident}/notes", json={"text": text}, headers=auth(tokens, "responder")
            )
            assert answer.status_code == 200
    return a, b


async def _wait_for_checkpoint(db: asyncpg.Connection, after: int) -> None:
    for _ in range(100):
        if await db.fetchval("SELECT count(*) FROM audit_checkpoints WHERE checkpoint_id > $1", after):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the projector wrote no signed checkpoint (INCIDENTS_AUDIT_KEY set by make test)")


async def test_audit_verify_reports_each_tampering_exactly(
    api: httpx.AsyncClient, tokens: dict[str, str], db: asyncpg.Connection
) -> None:
    before = await db.fetchval("SELECT coalesce(max(checkpoint_id), 0) FROM audit_checkpoints")
    a, b = await _two_incidents(api, tokens)
    await _wait_for_checkpoint(db, before)
    clean = _audit()
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "verified" in clean.stderr

    edited = await db.fetchrow(
        "SELECT event_id, event FROM incident_events WHERE incident_id = $1 AND version = 2", uuid.UUID(a)
    )
    deleted = await db.fetchrow("SELECT * FROM incident_events WHERE incident_id = $1 AND version = 2", uuid.UUID(b))
    assert edited is not None and deleted is not None
    fake_id = uuid.uuid4()
    key = os.environ["INCIDENTS_AUDIT_KEY"].encode()
    newest = await db.fetchrow("SELECT * FROM audit_checkpoints ORDER BY checkpoint_id DESC LIMIT 1")
    assert newest is not None
    forged_digest = "f" * 64
    try:
        original = json.loads(edited["event"])  # this connection reads jsonb as text
        tampered = json.dumps({**original, "data": {**original["data"], "text": "nothing happened"}})
        await db.execute("UPDATE incident_events SET event = $2 WHERE event_id = $1", edited["event_id"], tampered)
        await db.execute("DELETE FROM incident_events WHERE event_id = $1", deleted["event_id"])
        await db.execute(
            "INSERT INTO incident_events (event_id, incident_id, version, revision, type, occurred_at, recorded_at,"
            ' actor_id, event, prev_hash, hash, partition, "offset", position)'
            " SELECT $1, incident_id, 9, 9, type, occurred_at, recorded_at, actor_id, event, hash, hash, partition,"
            ' "offset", position + 1000000 FROM incident_events WHERE incident_id = $2 AND version = 1',
            fake_id,
            uuid.UUID(b),
        )
        await db.execute(
            "INSERT INTO audit_checkpoints (partition, next_offset, digest, signature) VALUES"
            " ($1, $2, $3, $4), ($1, $2, $3, $5)",
            newest["partition"],
            newest["next_offset"],
            forged_digest,
            sign(key, newest["partition"], newest["next_offset"], forged_digest),  # right key, wrong digest
            sign(b"not the key", newest["partition"], newest["next_offset"], forged_digest),
        )
        dirty = _audit()
    finally:
        await db.execute(
            "UPDATE incident_events SET event = $2 WHERE event_id = $1", edited["event_id"], edited["event"]
        )
        await db.execute("DELETE FROM incident_events WHERE event_id = $1", fake_id)
        columns = list(deleted.keys())
        await db.execute(
            f"INSERT INTO incident_events ({', '.join(json.dumps(c) for c in columns)})"
            f" VALUES ({', '.join(f'${i + 1}' for i in range(len(columns)))}) ON CONFLICT DO NOTHING",
            *deleted.values(),
        )
        await db.execute("DELETE FROM audit_checkpoints WHERE digest = $1", forged_digest)
    assert dirty.returncode == 1
    findings = dirty.stdout.splitlines()
    assert f"incident {a} version 2: edited (event {edited['event_id']} does not hash to the log's chain)" in findings
    assert (
        f"incident {b} version 2: deleted (event {deleted['event_id']} is in the log, not in the read model)"
        in findings
    )
    assert f"incident {b} version 9: inserted (event {fake_id} is in the read model, not in the log)" in findings
    where = f"checkpoint partition {newest['partition']} offset {newest['next_offset']}"
    assert f"{where}: the log's digest differs (the log was rewritten up to this point)" in findings
    assert f"{where}: bad signature (not written with the configured key)" in findings
    assert len(findings) == 5, findings
    assert _audit().returncode == 0, "restored"
