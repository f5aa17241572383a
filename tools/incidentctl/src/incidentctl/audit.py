"""`incidentctl audit verify`: the hash chains and signed checkpoints, recomputed from the log.

Three kinds of finding, each naming the incident and version (or partition and offset):
- edited: the stored event no longer hashes to the chain hash the log gives for that version;
- deleted: the log has an accepted event at a version the read model lacks;
- inserted: the read model has an event at a version the log does not have;
- checkpoint: a signed checkpoint whose digest is not the log's at that offset, or whose signature is wrong.
"""

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from incidentctl.logreader import read_log
from incidents_shared.audit import GENESIS_DIGEST, signature_ok
from incidents_shared.db import Conn, create_pool
from incidents_shared.domain.codec import canonical_json
from incidents_shared.invariants import LogFold
from incidents_shared.settings import CommonSettings


@dataclass
class AuditReport:
    incidents: int = 0
    events: int = 0
    checkpoints: int = 0
    findings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


@dataclass(frozen=True)
class Checkpoint:
    partition: int
    next_offset: int
    digest: str
    signature: str


def _rehash(prev_hash: str, event: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical_json(event)).hexdigest()


def compare_chains(
    log: dict[UUID, list[tuple[int, UUID, str]]], stored: dict[UUID, dict[int, tuple[UUID, str, str, Any]]]
) -> list[str]:
    """Findings between the log's accepted events and the stored ones (version -> event id, prev, hash, JSON)."""
    findings = []
    for incident_id in sorted(log.keys() | stored.keys(), key=str):
        expected = {version: (event_id, chain) for version, event_id, chain in log.get(incident_id, [])}
        actual = stored.get(incident_id, {})
        for version in sorted(expected.keys() | actual.keys()):
            where = f"incident {incident_id} version {version}"
            if version not in actual:
                findings.append(f"{where}: deleted (event {expected[version][0]} is in the log, not in the read model)")
            elif version not in expected:
                findings.append(f"{where}: inserted (event {actual[version][0]} is in the read model, not in the log)")
            else:
                event_id, prev_hash, stored_hash, event = actual[version]
                if _rehash(prev_hash, event) != expected[version][1] or stored_hash != expected[version][1]:
                    findings.append(f"{where}: edited (event {event_id} does not hash to the log's chain)")
    return findings


def check_checkpoints(
    key: bytes | None, checkpoints: list[Checkpoint], digests_at: dict[tuple[int, int], str]
) -> list[str]:
    findings = []
    for c in checkpoints:
        where = f"checkpoint partition {c.partition} offset {c.next_offset}"
        if key is not None and not signature_ok(key, c.partition, c.next_offset, c.digest, c.signature):
            findings.append(f"{where}: bad signature (not written with the configured key)")
        elif digests_at.get((c.partition, c.next_offset), GENESIS_DIGEST) != c.digest:
            findings.append(f"{where}: the log's digest differs (the log was rewritten up to this point)")
    return findings


async def _stored(conn: Conn) -> tuple[dict[UUID, dict[int, tuple[UUID, str, str, Any]]], list[Checkpoint]]:
    stored: dict[UUID, dict[int, tuple[UUID, str, str, Any]]] = defaultdict(dict)
    rows = await conn.fetch("SELECT incident_id, version, event_id, prev_hash, hash, event FROM incident_events")
    for r in rows:
        stored[r["incident_id"]][r["version"]] = (r["event_id"], r["prev_hash"], r["hash"], r["event"])
    checkpoints = [
        Checkpoint(r["partition"], r["next_offset"], r["digest"], r["signature"])
        for r in await conn.fetch(
            "SELECT partition, next_offset, digest, signature FROM audit_checkpoints ORDER BY partition, next_offset"
        )
    ]
    return stored, checkpoints


async def verify(settings: CommonSettings) -> AuditReport:
    pool = await create_pool(settings)
    try:
        async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            offsets = {
                r["partition"]: r["next_offset"]
                for r in await conn.fetch(
                    "SELECT partition, next_offset FROM consumer_offsets WHERE group_id = 'projector' AND topic = $1",
                    settings.events_topic,
                )
            }
            stored, checkpoints = await _stored(conn)
    finally:
        await pool.close()
    wanted = {(c.partition, c.next_offset) for c in checkpoints}
    fold, digests_at = LogFold(), {}
    async for _, batch in read_log(settings):
        for record in batch:
            if record.offset >= offsets.get(record.partition, 0):
                continue  # not projected yet: the read model cannot have it
            fold.apply(record)
            if (record.partition, record.offset + 1) in wanted:
                digests_at[(record.partition, record.offset + 1)] = fold.digests.get(record.partition, GENESIS_DIGEST)
    key = settings.audit_key.get_secret_value().encode() if settings.audit_key else None
    report = AuditReport(
        incidents=len(fold.accepted), events=sum(len(v) for v in fold.accepted.values()), checkpoints=len(checkpoints)
    )
    report.findings = compare_chains(fold.accepted, stored) + check_checkpoints(key, checkpoints, digests_at)
    return report
