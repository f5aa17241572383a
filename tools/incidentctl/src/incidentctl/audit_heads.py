"""Chain heads kept from an earlier `audit verify`, checked against today's chains (docs/decisions/0082).

Removing the newest checkpoints of a chain breaks no link, so a chain alone cannot show it; a head kept
outside the database can: today's chain must still hold that number with that hash. Pure.
"""

import re
from dataclasses import dataclass

from incidents_shared.audit import Checkpoint

_HEAD = re.compile(
    r"chain head partition (?P<partition>\d+): number (?P<seq>\d+), offset (?P<offset>\d+),"
    r" hash (?P<hash>[0-9a-f]{64}), key (?P<key>\S+)"
)


@dataclass(frozen=True)
class KeptHead:
    partition: int
    seq: int
    hash: str


def head_line(c: Checkpoint) -> str:
    return f"chain head partition {c.partition}: number {c.seq}, offset {c.next_offset}, hash {c.hash}, key {c.key_id}"


def parse_heads(text: str) -> dict[int, KeptHead]:
    """The head lines in `text` (other lines, such as findings and the summary, are skipped); ValueError
    when there is none."""
    heads = {}
    for match in _HEAD.finditer(text):
        partition = int(match["partition"])
        heads[partition] = KeptHead(partition, int(match["seq"]), match["hash"])
    if not heads:
        raise ValueError("no 'chain head partition ...' line (keep the stderr of an earlier audit verify)")
    return heads


def head_findings(kept: dict[int, KeptHead], checkpoints: list[Checkpoint]) -> list[str]:
    """Each kept head must still be in its chain, unchanged."""
    by_number = {(c.partition, c.seq): c for c in checkpoints}
    newest: dict[int, int] = {}
    for c in checkpoints:
        newest[c.partition] = max(newest.get(c.partition, 0), c.seq)
    findings = []
    for head in sorted(kept.values(), key=lambda h: h.partition):
        where = f"checkpoint partition {head.partition} number {head.seq}"
        now = by_number.get((head.partition, head.seq))
        if now is None:
            findings.append(
                f"{where}: was the chain's head, now missing (the chain ends at number"
                f" {newest.get(head.partition, 0)}: its newest checkpoints were removed)"
            )
        elif now.hash != head.hash:
            findings.append(f"{where}: differs from the head kept earlier (edited or re-signed)")
    return findings
