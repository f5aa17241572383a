"""Tamper evidence beyond the hash chains: per-partition digests of accepted events, signed with a key.

The projector folds every accepted event's chain hash into a running digest per partition and periodically
writes signed checkpoints (HMAC-SHA256). `incidentctl audit verify` recomputes the digests from the log: a
rewrite of both the log and the read models that keeps them consistent still cannot produce the signatures.
"""

import hashlib
import hmac

GENESIS_DIGEST = "0" * 64


def next_digest(previous: str, event_hash: str) -> str:
    return hashlib.sha256((previous + event_hash).encode()).hexdigest()


def sign(key: bytes, partition: int, next_offset: int, digest: str) -> str:
    message = f"{partition}:{next_offset}:{digest}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signature_ok(key: bytes, partition: int, next_offset: int, digest: str, signature: str) -> bool:
    return hmac.compare_digest(sign(key, partition, next_offset, digest), signature)
