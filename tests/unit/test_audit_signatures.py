"""Ed25519 audit checkpoints: signed by the projector's key, checked with public keys only, numbered and chained
per partition so a deleted, edited or re-signed checkpoint is found (docs/decisions/0082). Pure."""

from dataclasses import replace

import pytest

from incidents_shared.audit import (
    GENESIS_CHECKPOINT,
    Checkpoint,
    SigningKey,
    chain_findings,
    key_id_of,
    parse_public_keys,
    public_key_text,
    signature_finding,
)

KEY = SigningKey.generate()
TRUSTED = parse_public_keys(public_key_text(KEY.public))


def chain(key: SigningKey, partition: int, offsets: list[int]) -> list[Checkpoint]:
    signed: list[Checkpoint] = []
    for offset in offsets:
        signed.append(key.sign(partition, offset, f"{offset:064x}", signed[-1] if signed else None))
    return signed


def test_a_chain_is_numbered_from_one_and_each_names_the_previous_hash() -> None:
    first, second, third = chain(KEY, 3, [10, 20, 30])

    assert [c.seq for c in (first, second, third)] == [1, 2, 3]
    assert first.prev_hash == GENESIS_CHECKPOINT
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert {c.key_id for c in (first, second, third)} == {KEY.key_id}
    assert [signature_finding(c, TRUSTED) for c in (first, second, third)] == [None, None, None]
    assert chain_findings([third, first, second]) == []


def test_the_public_key_verifies_but_cannot_sign() -> None:
    public_only = parse_public_keys(public_key_text(KEY.public))[KEY.key_id]

    assert not hasattr(public_only, "sign")
    assert key_id_of(public_only) == KEY.key_id


def test_an_edited_checkpoint_has_a_bad_signature_and_breaks_the_next_link() -> None:
    first, second, third = chain(KEY, 0, [10, 20, 30])
    edited = replace(second, digest="f" * 64)

    assert signature_finding(edited, TRUSTED) == (
        f"checkpoint partition 0 number 2 (offset 20): bad signature (edited, or not signed by key {KEY.key_id})"
    )
    assert chain_findings([first, edited, third]) == [
        "checkpoint partition 0 number 3 (offset 30): does not chain to number 2 (one of them was edited or re-signed)"
    ]


def test_a_deleted_checkpoint_is_a_gap_in_the_numbers() -> None:
    first, _, third, _, fifth = chain(KEY, 1, [1, 2, 3, 4, 5])

    assert chain_findings([first, third, fifth]) == [
        "checkpoint partition 1 number 2: missing (deleted)",
        "checkpoint partition 1 number 4: missing (deleted)",
    ]
    assert chain_findings([fifth]) == ["checkpoint partition 1 numbers 1-4: missing (deleted)"]


def test_a_checkpoint_re_signed_with_another_key_is_untrusted_and_breaks_the_chain() -> None:
    first, second, third = chain(KEY, 2, [10, 20, 30])
    attacker = SigningKey.generate()
    forged = attacker.sign(2, 20, "e" * 64, first)
    claiming_our_id = replace(forged, key_id=KEY.key_id)

    assert signature_finding(forged, TRUSTED) == (
        f"checkpoint partition 2 number 2 (offset 20): signed with key {attacker.key_id!r},"
        " which is not a trusted public key"
    )
    assert signature_finding(claiming_our_id, TRUSTED) is not None
    assert chain_findings([first, forged, third]) == [
        "checkpoint partition 2 number 3 (offset 30): does not chain to number 2 (one of them was edited or re-signed)"
    ]
    assert second.hash != forged.hash


def test_chains_are_per_partition_and_an_offset_going_back_is_found() -> None:
    a = chain(KEY, 0, [5, 9])
    b = chain(KEY, 1, [7])
    back = KEY.sign(0, 4, "0" * 64, a[-1])

    assert chain_findings([*a, *b]) == []
    assert chain_findings([*a, back]) == [
        "checkpoint partition 0 number 3 (offset 4): its offset is before number 2's (9)"
    ]
    assert chain_findings([*a, replace(a[1], next_offset=11)]) == [
        "checkpoint partition 0 number 2 (offset 11): the number appears more than once"
    ]


def test_rotation_keeps_old_checkpoints_verifiable_with_both_public_keys() -> None:
    old, new = SigningKey.generate(), SigningKey.generate()
    first = old.sign(0, 10, "a" * 64, None)
    second = new.sign(0, 20, "b" * 64, first)
    both = parse_public_keys(f"{public_key_text(old.public)}, {public_key_text(new.public)}")

    assert second.prev_hash == first.hash and chain_findings([first, second]) == []
    assert [signature_finding(c, both) for c in (first, second)] == [None, None]
    assert signature_finding(first, parse_public_keys(public_key_text(new.public))) is not None


def test_the_private_key_round_trips_through_pem() -> None:
    again = SigningKey.from_pem(KEY.pem())

    assert again.key_id == KEY.key_id
    assert KEY.pem().startswith(b"-----BEGIN PRIVATE KEY-----")


@pytest.mark.parametrize("text", ["not-base64!", "AAAA", public_key_text(KEY.public)[:-4]])
def test_a_bad_public_key_is_refused_naming_it(text: str) -> None:
    with pytest.raises(ValueError, match="is not an Ed25519 public key"):
        parse_public_keys(text)


def test_a_pem_that_is_no_ed25519_private_key_is_refused() -> None:
    with pytest.raises(ValueError, match="not an unencrypted PEM private key"):
        SigningKey.from_pem(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    assert parse_public_keys("") == {}
