"""Chain heads kept from an earlier `audit verify`: a head removed or changed since is a finding. Pure."""

import pytest

from incidentctl.audit_heads import KeptHead, head_findings, head_line, parse_heads
from incidents_shared.audit import Checkpoint, SigningKey

KEY = SigningKey.generate()


def chain(partition: int, length: int) -> list[Checkpoint]:
    signed: list[Checkpoint] = []
    for n in range(length):
        signed.append(KEY.sign(partition, 10 * (n + 1), f"{n:064x}", signed[-1] if signed else None))
    return signed


def test_head_lines_read_back_among_other_output() -> None:
    a, b = chain(0, 3), chain(1, 2)
    text = "\n".join(["a finding", head_line(a[-1]), head_line(b[-1]), "3 incidents, ...: verified"])

    assert parse_heads(text) == {0: KeptHead(0, 3, a[-1].hash), 1: KeptHead(1, 2, b[-1].hash)}


def test_a_text_without_heads_is_refused() -> None:
    with pytest.raises(ValueError, match="no 'chain head partition"):
        parse_heads("3 incidents: verified")


def test_a_chain_that_grew_since_is_fine() -> None:
    today = chain(0, 5)
    assert head_findings(parse_heads(head_line(today[2])), today) == []


def test_removed_newest_checkpoints_are_found_through_the_kept_head() -> None:
    before = chain(0, 5)
    kept = parse_heads(head_line(before[-1]))

    assert head_findings(kept, before[:3]) == [
        "checkpoint partition 0 number 5: was the chain's head, now missing"
        " (the chain ends at number 3: its newest checkpoints were removed)"
    ]
    assert head_findings(kept, []) == [
        "checkpoint partition 0 number 5: was the chain's head, now missing"
        " (the chain ends at number 0: its newest checkpoints were removed)"
    ]


def test_a_kept_head_that_changed_is_found() -> None:
    before = chain(0, 2)
    rewritten = [before[0], SigningKey.generate().sign(0, 20, "f" * 64, before[0])]

    assert head_findings(parse_heads(head_line(before[-1])), rewritten) == [
        "checkpoint partition 0 number 2: differs from the head kept earlier (edited or re-signed)"
    ]
