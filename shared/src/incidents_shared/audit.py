"""Tamper evidence beyond the hash chains: per-partition digests of accepted events in signed, chained checkpoints.

The projector folds every accepted event's chain hash into a running digest per partition and periodically
writes checkpoints of it (docs/decisions/0040, 0082). A checkpoint is numbered per partition (1, 2, ...), names
the hash of the previous one, and is signed with the projector's Ed25519 key; verifiers hold only public keys,
so whoever can check a checkpoint still cannot make one. Deleting a checkpoint leaves a gap in the numbers,
editing or re-signing one breaks its signature or the next one's link. Pure: no I/O.
"""

import base64
import binascii
import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

GENESIS_DIGEST = "0" * 64
GENESIS_CHECKPOINT = "0" * 64  # what checkpoint number 1 names as its predecessor
_CONTEXT = b"incidents.audit-checkpoint.v2"  # signatures are for this use only
TrustedKeys = dict[str, Ed25519PublicKey]  # public keys by key id


def next_digest(previous: str, event_hash: str) -> str:
    return hashlib.sha256((previous + event_hash).encode()).hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    """Where a partition's digest stood at `next_offset`, number `seq` of that partition's chain."""

    partition: int
    seq: int
    next_offset: int
    digest: str
    prev_hash: str
    key_id: str
    signature: str  # base64 of the 64-byte Ed25519 signature of `message()`

    def message(self) -> bytes:
        fields = (self.partition, self.seq, self.next_offset, self.digest, self.prev_hash, self.key_id)
        return b"\n".join([_CONTEXT, *(str(f).encode() for f in fields)])

    @property
    def hash(self) -> str:
        """What the next checkpoint names: the signed fields and the signature (a re-signed one differs)."""
        return hashlib.sha256(self.message() + b"\n" + self.signature.encode()).hexdigest()

    @property
    def where(self) -> str:
        return f"checkpoint partition {self.partition} number {self.seq} (offset {self.next_offset})"


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(public: Ed25519PublicKey) -> str:
    """A key's id: derived from the public key, so an id cannot be claimed by another key."""
    return "ed25519:" + hashlib.sha256(_raw(public)).hexdigest()[:16]


def public_key_text(public: Ed25519PublicKey) -> str:
    """The form INCIDENTS_AUDIT_PUBLIC_KEYS takes: base64 of the 32 raw bytes."""
    return base64.b64encode(_raw(public)).decode()


def parse_public_keys(text: str) -> TrustedKeys:
    """Comma- or space-separated public keys (`public_key_text`) by key id; ValueError naming a bad one."""
    keys: TrustedKeys = {}
    for item in text.replace(",", " ").split():
        try:
            raw = base64.b64decode(item, validate=True)
            public = Ed25519PublicKey.from_public_bytes(raw)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"{item[:20]!r} is not an Ed25519 public key (base64 of 32 bytes)") from exc
        keys[key_id_of(public)] = public
    return keys


class SigningKey:
    """The projector's private key (only the projector loads it)."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public = private.public_key()
        self.key_id = key_id_of(self.public)

    @classmethod
    def generate(cls) -> "SigningKey":
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, data: bytes) -> "SigningKey":
        """An unencrypted PKCS#8 PEM (`openssl genpkey -algorithm ed25519`, `incidentctl audit keygen`)."""
        try:
            private = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise ValueError("not an unencrypted PEM private key") from exc
        if not isinstance(private, Ed25519PrivateKey):
            raise ValueError(f"an Ed25519 key is needed, not {type(private).__name__}")
        return cls(private)

    def pem(self) -> bytes:
        return self._private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def sign(self, partition: int, next_offset: int, digest: str, previous: Checkpoint | None) -> Checkpoint:
        """The checkpoint after `previous` (None: the partition's first)."""
        unsigned = Checkpoint(
            partition,
            previous.seq + 1 if previous else 1,
            next_offset,
            digest,
            previous.hash if previous else GENESIS_CHECKPOINT,
            self.key_id,
            "",
        )
        signature = base64.b64encode(self._private.sign(unsigned.message())).decode()
        return replace(unsigned, signature=signature)


def signature_finding(checkpoint: Checkpoint, keys: TrustedKeys) -> str | None:
    """Why the checkpoint's signature does not stand with these trusted keys, or None when it does."""
    public = keys.get(checkpoint.key_id)
    if public is None:
        return f"{checkpoint.where}: signed with key {checkpoint.key_id!r}, which is not a trusted public key"
    try:
        public.verify(base64.b64decode(checkpoint.signature, validate=True), checkpoint.message())
    except (InvalidSignature, binascii.Error, ValueError):
        return f"{checkpoint.where}: bad signature (edited, or not signed by key {checkpoint.key_id})"
    return None


def chain_findings(checkpoints: Iterable[Checkpoint]) -> list[str]:
    """Gaps (deleted checkpoints), repeated numbers, broken links and offsets that go back, per partition."""
    by_partition: dict[int, list[Checkpoint]] = defaultdict(list)
    for c in checkpoints:
        by_partition[c.partition].append(c)
    findings = []
    for partition in sorted(by_partition):
        findings += _partition_findings(partition, sorted(by_partition[partition], key=lambda c: c.seq))
    return findings


def _partition_findings(partition: int, chain: list[Checkpoint]) -> list[str]:
    findings = []
    previous: Checkpoint | None = None
    for c in chain:
        expected = previous.seq + 1 if previous else 1
        if c.seq > expected:
            missing = f"number {expected}" if c.seq == expected + 1 else f"numbers {expected}-{c.seq - 1}"
            findings.append(f"checkpoint partition {partition} {missing}: missing (deleted)")
        elif c.seq < expected:
            findings.append(f"{c.where}: the number appears more than once")
        elif c.prev_hash != (previous.hash if previous else GENESIS_CHECKPOINT):
            findings.append(f"{c.where}: does not chain to number {c.seq - 1} (one of them was edited or re-signed)")
        if previous is not None and c.next_offset < previous.next_offset:
            findings.append(f"{c.where}: its offset is before number {previous.seq}'s ({previous.next_offset})")
        previous = c
    return findings
