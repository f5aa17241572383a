"""`incidentctl audit verify`: the hash chains and signed checkpoints, recomputed from the log.

Three kinds of finding, each naming the incident and version (or partition and offset):
- edited: the stored event no longer hashes to the chain hash the log gives for that version;
- deleted: the log has an accepted event at a version the read model lacks;
- inserted: the read model has an event at a version the log does not have;
- checkpoint: a checkpoint whose signature is not a trusted key's (edited, re-signed, or by an unknown key),
  whose digest is not the log's at that offset, or that breaks its partition's chain (a gap in the numbers is a
  deleted checkpoint, a wrong link an edited or re-signed predecessor; docs/decisions/0082).
"""

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from incidentctl.audit_heads import KeptHead, head_findings, head_line
from incidentctl.logreader import read_log
from incidents_shared.audit import (
    GENESIS_DIGEST,
    Checkpoint,
    TrustedKeys,
    chain_findings,
    parse_public_keys,
    signature_finding,
)
from incidents_shared.db import Conn, create_pool
from incidents_shared.domain.codec import canonical_json
from incidents_shared.invariants import LogFold
from incidents_shared.projection.store import CHECKPOINT_COLUMNS
from incidents_shared.settings import CommonSettings


@dataclass
class AuditReport:
    incidents: int = 0
    events: int = 0
    checkpoints: int = 0
    findings: list[str] = field(default_factory=list)
    heads: dict[int, Checkpoint] = field(default_factory=dict)  # each partition's newest checkpoint

    @property
    def ok(self) -> bool:
        return not self.findings

    def head_lines(self) -> list[str]:
        """Each chain's newest checkpoint: keep them outside the database, since removing the newest checkpoints
        of a chain breaks nothing after them (docs/decisions/0082)."""
        return [head_line(c) for _, c in sorted(self.heads.items())]


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


class NoPublicKeys(Exception):
    """Verifying without a trusted public key would skip every signature: refused."""


def trusted_keys(settings: CommonSettings) -> TrustedKeys:
    keys = parse_public_keys(settings.audit_public_keys)
    if not keys:
        raise NoPublicKeys(
            "no trusted public key: set INCIDENTS_AUDIT_PUBLIC_KEYS to the projector's audit public key(s)"
            " (its log line audit_checkpoints_signed, or `incidentctl audit keygen`); see docs/SECURITY.md"
        )
    return keys


def check_checkpoints(
    keys: TrustedKeys, checkpoints: list[Checkpoint], digests_at: dict[tuple[int, int], str]
) -> list[str]:
    """Each checkpoint's signature by a trusted key and its digest against the log's, then the chains."""
    findings = []
    for c in checkpoints:
        if (bad := signature_finding(c, keys)) is not None:
            findings.append(bad)
        elif digests_at.get((c.partition, c.next_offset), GENESIS_DIGEST) != c.digest:
            findings.append(f"{c.where}: the log's digest differs (the log was rewritten up to this point)")
    return findings + chain_findings(checkpoints)


async def _stored(conn: Conn) -> tuple[dict[UUID, dict[int, tuple[UUID, str, str, Any]]], list[Checkpoint]]:
    stored: dict[UUID, dict[int, tuple[UUID, str, str, Any]]] = defaultdict(dict)
    rows = await conn.fetch("SELECT incident_id, version, event_id, prev_hash, hash, event FROM incident_events")
    for r in rows:
        stored[r["incident_id"]][r["version"]] = (r["event_id"], r["prev_hash"], r["hash"], r["event"])
    checkpoints = [
        Checkpoint(**dict(r))
        for r in await conn.fetch(f"SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY partition, seq")
    ]
    return stored, checkpoints


async def verify(settings: CommonSettings, kept: dict[int, KeptHead] | None = None) -> AuditReport:
    """Raises NoPublicKeys before reading anything when no public key is trusted. `kept`: chain heads of an
    earlier run (incidentctl.audit_heads), each still to be found unchanged."""
    keys = trusted_keys(settings)
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
    report = AuditReport(
        incidents=len(fold.accepted),
        events=sum(len(v) for v in fold.accepted.values()),
        checkpoints=len(checkpoints),
        heads={c.partition: c for c in checkpoints},  # ordered by partition and number: the last one stays
    )
    report.findings = compare_chains(fold.accepted, stored) + check_checkpoints(keys, checkpoints, digests_at)
    report.findings += head_findings(kept or {}, checkpoints)
    return report
