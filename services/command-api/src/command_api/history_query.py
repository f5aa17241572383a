"""An incident's past from its stored events: the state at a point in time, and the audit of its hash chain.

Pure: the read model loads the stored events, these functions fold and check them (docs/decisions/0022).
"""

import hashlib
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
    state: Incident | None = None
    for stored in events:
        if stored.recorded_at > at:
            break
        state = advance(state, decode(canonical_json(stored.event)))
    return state


def link_hash(prev_hash: str, event: dict[str, Any]) -> str:
    """The chain link recomputed from the stored canonical event JSON, independently of the event models."""
    return hashlib.sha256(prev_hash.encode() + canonical_json(event)).hexdigest()


def audit(events: list[StoredEvent]) -> dict[str, Any]:
    """Each event with its hashes and whether its link verifies; the chain verifies when every link does."""
    expected_prev, rows, broken = GENESIS_HASH, [], []
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
