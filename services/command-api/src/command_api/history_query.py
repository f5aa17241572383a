"""An incident's past from its stored events: the state at a point in time, and the audit of its hash chain.

Pure: the read model loads the stored events, these functions fold and check them (docs/decisions/0022).
"""

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from command_api.readmodel import StoredEvent
from incidents_shared.domain.codec import GENESIS_HASH, canonical_json, decode
from incidents_shared.domain.fold import advance
from incidents_shared.domain.state import Incident


def state_as_of(events: list[StoredEvent], at: datetime) -> Incident | None:
    """The incident after the longest prefix of its accepted events recorded at or before `at`.

    A prefix, never a filter: every state returned is one the incident really went through, even when two
    racing commands were recorded out of log order.
    """
    return fold_until(None, events, at)[0]


def fold_until(state: Incident | None, events: Iterable[StoredEvent], at: datetime) -> tuple[Incident | None, bool]:
    """`state` advanced by the events recorded at or before `at`, and whether an event past `at` ended the
    prefix: the as-of read folds one chunk of events at a time (docs/decisions/0091)."""
    for stored in events:
        if stored.recorded_at > at:
            return state, True
        state = advance(state, decode(canonical_json(stored.event)))
    return state, False


def link_hash(prev_hash: str, event: dict[str, Any]) -> str:
    """The chain link recomputed from the stored canonical event JSON, independently of the event models."""
    return hashlib.sha256(prev_hash.encode() + canonical_json(event)).hexdigest()


def audit(events: list[StoredEvent], prev_hash: str = GENESIS_HASH) -> dict[str, Any]:
    """Each event with its hashes and whether its link verifies; the chain verifies when every link does.
    A page after the first starts from the hash of the event before it (`prev_hash`)."""
    expected_prev, rows, broken = prev_hash, [], []
    for stored in events:
        recomputed = link_hash(stored.prev_hash, stored.event)
        ok = stored.prev_hash == expected_prev and recomputed == stored.hash
        if not ok:
            broken.append(stored.version)
        rows.append(
            {
                "version": stored.version,
                "revision": stored.revision,
                "event_id": stored.event["event_id"],
                "type": stored.event["type"],
                "actor": stored.event["actor"],
                "occurred_at": stored.event["occurred_at"],
                "recorded_at": stored.event["recorded_at"],
                "partition": stored.partition,
                "offset": stored.offset,
                "prev_hash": stored.prev_hash,
                "hash": stored.hash,
                "recomputed_hash": recomputed,
                "verified": ok,
            }
        )
        expected_prev = stored.hash
    return {"verified": not broken, "broken_versions": broken, "events": rows}
