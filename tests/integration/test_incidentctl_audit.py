"""`incidentctl audit verify` finds edited, deleted and inserted events, and deleted, edited, re-signed or
inserted checkpoints (Ed25519, numbered and chained: docs/decisions/0082); it refuses to run without a public key."""

import asyncio
import json
import os
import subprocess
import uuid
from collections.abc import Mapping
from pathlib import Path

import asyncpg
import httpx

from incidents_shared.audit import Checkpoint, SigningKey
from incidents_shared.projection.store import CHECKPOINT_COLUMNS
from tests.integration.helpers import auth, log_incident
from tests.integration.services import BIN, Service


def _audit(env: Mapping[str, str] | None = None, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "incidentctl"), "audit", "verify", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
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
    raise AssertionError("the projector wrote no signed checkpoint (its signing key is set by make test)")


async def test_audit_verify_reports_each_tampered_event_exactly(
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
    assert dirty.returncode == 1
    findings = dirty.stdout.splitlines()
    assert f"incident {a} version 2: edited (event {edited['event_id']} does not hash to the log's chain)" in findings
    assert (
        f"incident {b} version 2: deleted (event {deleted['event_id']} is in the log, not in the read model)"
        in findings
    )
    assert f"incident {b} version 9: inserted (event {fake_id} is in the read model, not in the log)" in findings
    assert len(findings) == 3, findings
    assert _audit().returncode == 0, "restored"


def test_audit_verify_refuses_without_a_public_key() -> None:
    refused = _audit({"INCIDENTS_AUDIT_PUBLIC_KEYS": ""})

    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "no trusted public key: set INCIDENTS_AUDIT_PUBLIC_KEYS" in refused.stderr
    assert "verified" not in refused.stderr + refused.stdout


async def _chain_of_three(api: httpx.AsyncClient, tokens: dict[str, str], db: asyncpg.Connection) -> list[Checkpoint]:
    """At least three checkpoints on one incident's partition: notes a checkpoint interval (1 s) apart."""
    incident = (await log_incident(api, tokens, title="audited chain"))["incident_id"]
    partition = None
    for n in range(40):
        answer = await api.post(
            f"/v1/incidents/{incident}/notes", json={"text": f"note {n}"}, headers=auth(tokens, "responder")
        )
        assert answer.status_code == 200
        partition = await db.fetchval(
            "SELECT partition FROM incident_events WHERE incident_id = $1", uuid.UUID(incident)
        )
        rows = await db.fetch(
            f"SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints WHERE partition = $1 ORDER BY seq", partition
        )
        if len(rows) >= 3:
            return [Checkpoint(**dict(r)) for r in rows]
        await asyncio.sleep(0.6)
    raise AssertionError(f"fewer than three checkpoints on partition {partition}")


async def _restore(db: asyncpg.Connection, row: asyncpg.Record) -> None:
    await db.execute("DELETE FROM audit_checkpoints WHERE checkpoint_id = $1", row["checkpoint_id"])
    columns = list(row.keys())
    await db.execute(
        f"INSERT INTO audit_checkpoints ({', '.join(columns)})"
        f" VALUES ({', '.join(f'${i + 1}' for i in range(len(columns)))})",
        *row.values(),
    )


async def _tampered(db: asyncpg.Connection, target: Checkpoint, change: str, *args: object) -> list[str]:
    """Findings of `audit verify` while `change` ($1 = partition, $2 = seq) is applied to the target."""
    row = await db.fetchrow(
        "SELECT * FROM audit_checkpoints WHERE partition = $1 AND seq = $2", target.partition, target.seq
    )
    assert row is not None
    try:
        await db.execute(change, target.partition, target.seq, *args)
        dirty = _audit()
    finally:
        await _restore(db, row)
    assert dirty.returncode == 1, dirty.stdout + dirty.stderr
    return dirty.stdout.splitlines()


async def test_audit_verify_detects_a_deleted_an_edited_and_a_re_signed_checkpoint(
    api: httpx.AsyncClient, tokens: dict[str, str], db: asyncpg.Connection
) -> None:
    chain = await _chain_of_three(api, tokens, db)
    clean = _audit()
    assert clean.returncode == 0, clean.stdout + clean.stderr
    previous, target, following = chain[-3], chain[-2], chain[-1]  # never the newest: the projector chains on it
    p, seq = target.partition, target.seq
    [head] = [line for line in clean.stderr.splitlines() if line.startswith(f"chain head partition {p}:")]
    assert int(head.split("number ")[1].split(",")[0]) >= following.seq, head
    where = f"checkpoint partition {p} number {seq} (offset {target.next_offset})"
    broken_link = (
        f"checkpoint partition {p} number {seq + 1} (offset {following.next_offset}):"
        f" does not chain to number {seq} (one of them was edited or re-signed)"
    )

    deleted = await _tampered(db, target, "DELETE FROM audit_checkpoints WHERE partition = $1 AND seq = $2")
    assert deleted == [f"checkpoint partition {p} number {seq}: missing (deleted)"]

    edited = await _tampered(
        db, target, "UPDATE audit_checkpoints SET digest = $3 WHERE partition = $1 AND seq = $2", "f" * 64
    )
    assert edited == [f"{where}: bad signature (edited, or not signed by key {target.key_id})", broken_link]

    attacker = SigningKey.generate()
    forged = attacker.sign(p, target.next_offset, target.digest, previous)  # the same facts, another key
    assert (forged.seq, forged.prev_hash) == (target.seq, target.prev_hash)
    re_signed = await _tampered(
        db,
        target,
        "UPDATE audit_checkpoints SET key_id = $3, signature = $4 WHERE partition = $1 AND seq = $2",
        forged.key_id,
        forged.signature,
    )
    assert re_signed == [
        f"{where}: signed with key {attacker.key_id!r}, which is not a trusted public key",
        broken_link,
    ]

    claimed = await _tampered(  # another key's signature under our key id
        db, target, "UPDATE audit_checkpoints SET signature = $3 WHERE partition = $1 AND seq = $2", forged.signature
    )
    assert claimed == [f"{where}: bad signature (edited, or not signed by key {target.key_id})", broken_link]

    assert _audit().returncode == 0, "restored"


def _environment(service: Service) -> dict[str, str]:
    assert service.process is not None
    raw = Path(f"/proc/{service.process.pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)


def test_only_the_projector_gets_the_signing_key(services: dict[str, Service]) -> None:
    projector = _environment(services["projector"])
    key_file = Path(projector["INCIDENTS_AUDIT_SIGNING_KEY_FILE"])
    assert key_file.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert key_file.stat().st_mode & 0o077 == 0, "owner-only"
    for name in ("command-api", "escalator"):
        environment = _environment(services[name])
        assert "INCIDENTS_AUDIT_SIGNING_KEY_FILE" not in environment, name
        assert not any("PRIVATE KEY" in value for value in environment.values()), name
        assert environment["INCIDENTS_AUDIT_PUBLIC_KEYS"] == projector["INCIDENTS_AUDIT_PUBLIC_KEYS"]


async def test_audit_verify_checks_heads_kept_from_an_earlier_run(
    api: httpx.AsyncClient, tokens: dict[str, str], db: asyncpg.Connection, tmp_path: Path
) -> None:
    newest = (await _chain_of_three(api, tokens, db))[-1]
    earlier = tmp_path / "earlier.txt"
    earlier.write_text(_audit().stderr)
    assert _audit(None, "--heads", str(earlier)).returncode == 0, "the chains only grew since"

    # As if the chain had once been longer (its newest removed since), or its head rewritten.
    longer = f"chain head partition {newest.partition}: number {newest.seq + 1000}, offset 1, hash {'a' * 64}, key k"
    rewritten = f"chain head partition {newest.partition}: number {newest.seq}, offset 1, hash {'b' * 64}, key k"
    for kept, finding in (
        (
            longer,
            f"checkpoint partition {newest.partition} number {newest.seq + 1000}: was the chain's head, now missing",
        ),
        (rewritten, f"checkpoint partition {newest.partition} number {newest.seq}: differs from the head kept earlier"),
    ):
        earlier.write_text(kept + "\n")
        dirty = _audit(None, "--heads", str(earlier))
        assert dirty.returncode == 1, dirty.stdout + dirty.stderr
        assert [line for line in dirty.stdout.splitlines() if line.startswith(finding)], dirty.stdout

    earlier.write_text("nothing kept\n")
    refused = _audit(None, "--heads", str(earlier))
    assert refused.returncode == 2 and "no 'chain head partition" in refused.stderr
