"""The "fix" deployed for the v99 notes the poison tests write: an upcaster, registered for the whole test process
on import, as a deployment would register it for every reader (the session's invariant check included). The
service subprocesses started before it and still park such records; the tests release them in-process.

Once such a note is released into the read model, a subprocess that reads the log without the fix (`incidentctl
audit verify` in test_incidentctl_audit.py) would report it: the tests that release (test_poison*.py) sort after
those files and must stay so."""

import uuid

from incidents_shared.domain.codec import UPCASTERS, RawEvent
from tests.integration.rawlog import raw_event

FUTURE_NOTE_VERSION = 99


def note_v99_to_v2(raw: RawEvent) -> RawEvent:
    return {**raw, "schema_version": 2, "data": {"kind": raw["data"]["category"], "text": raw["data"]["body"]}}


UPCASTERS[("incident.note_added", FUTURE_NOTE_VERSION)] = note_v99_to_v2


def future_note(incident_id: uuid.UUID, text: str) -> bytes:
    """A note as a future producer writes it (schema v99: `category` and `body`), which only the fix decodes."""
    return raw_event("incident.note_added", incident_id, {"category": "diagnosis", "body": text}, FUTURE_NOTE_VERSION)
