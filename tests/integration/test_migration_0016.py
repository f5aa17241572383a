"""Migration 0016 on rows written before it (decision 0079): pending deliveries keep where they go as a reference,
and no URL's secret part is left in the outbox, storm holds, page timers or stored policy versions.

The migrations up to 0015 are applied to a schema of this test's own, inside a transaction rolled back at the end,
so the session's database is untouched.
"""

import json
import uuid
from typing import Any

import asyncpg

from incidents_shared.db import migration_files

SECRET = "T0SECRET/B0SECRET/XYZ"
HOOK = f"https://user:pw@hooks.slack.com:8443/services/{SECRET}"
PAGE_EVENT = uuid.uuid4()  # a Slack page's incident.paged: its body is text, its contact index is on its timer


async def _old_rows(db: asyncpg.Connection) -> None:
    incident = uuid.uuid4()
    outbox = (
        "INSERT INTO escalator_outbox (delivery_id, incident_id, about_event_id, partition, channel, kind, url, target,"
        " body) VALUES ($1, $2, $3, 0, $4, $5, $6, $7, $8::jsonb)"
    )
    rows: list[tuple[str, str, str, dict[str, Any], uuid.UUID]] = [
        ("oncall", "webhook", "ops", {"incident_id": str(incident)}, uuid.uuid4()),
        ("page:webhook", "webhook", "ann", {"contact": {"index": 1, "kind": "webhook"}}, uuid.uuid4()),
        ("page:slack", "slack", "bob", {"text": "you are paged"}, PAGE_EVENT),
        ("page:slack", "slack", "cy", {"text": "no timer left"}, uuid.uuid4()),
        ("none", "none", "nobody-team", {}, uuid.uuid4()),
    ]
    for channel, kind, target, body, about in rows:
        url = "" if channel == "none" else HOOK
        await db.execute(outbox, uuid.uuid4(), incident, about, channel, kind, url, target, json.dumps(body))
    timer = (
        "INSERT INTO escalator_timers (timer_id, incident_id, kind, due_at, partition, causation_id, correlation_id,"
        " payload) VALUES ($1, $2, 'page', now(), 0, 'c', 'c', $3::jsonb)"
    )
    contact = {"contact": {"index": 0, "kind": "slack", "address": HOOK}, "user": "bob"}
    await db.execute(timer, PAGE_EVENT, incident, json.dumps(contact))
    mail = {"contact": {"index": 0, "kind": "email", "address": "ann@example.com"}}
    await db.execute(timer, uuid.uuid4(), incident, json.dumps(mail))
    await db.execute(
        "INSERT INTO escalator_storm_holds (digest_id, page_id, user_id, incident_id, event_id, held_at, contact_kind,"
        " contact_address) VALUES ($1, $2, 'bob', $3, $4, now(), 'slack', $5)",
        uuid.uuid4(), uuid.uuid4(), incident, uuid.uuid4(), HOOK,
    )  # fmt: skip
    document = {"id": "p", "version": 1, "channels": {"oncall": {"kind": "slack", "url": HOOK}}, "priorities": {}}
    await db.execute(
        "INSERT INTO escalator_policies (policy_id, version, content_hash, document) VALUES ('p', 1, 'h', $1::jsonb)",
        json.dumps(document),
    )


async def test_0016_turns_stored_urls_into_references_and_keeps_no_secret(db: asyncpg.Connection) -> None:
    schema = f"m16_{uuid.uuid4().hex[:12]}"
    migrations = dict(migration_files())
    transaction = db.transaction()
    await transaction.start()
    try:
        await db.execute(f"CREATE SCHEMA {schema}; SET LOCAL search_path TO {schema}")
        for version in sorted(v for v in migrations if v < "0016"):
            await db.execute(migrations[version])
        await _old_rows(db)
        await db.execute(migrations["0016_safe_delivery"])

        found = {(r["channel"], r["target"]): r["destination"] for r in await db.fetch(
            "SELECT channel, target, destination::text FROM escalator_outbox")}  # fmt: skip
        assert found == {
            ("oncall", "ops"): '{"channel": "oncall"}',
            ("page:webhook", "ann"): '{"kind": "webhook", "user": "ann", "index": 1}',
            ("page:slack", "bob"): '{"kind": "slack", "user": "bob", "index": 0}',  # from its timer
            ("page:slack", "cy"): None,  # nothing to tell its contact method by: fails saying so when due
            ("none", "nobody-team"): None,
        }
        for table in ("escalator_outbox", "escalator_timers", "escalator_storm_holds", "escalator_policies"):
            dumped = await db.fetchval(f"SELECT coalesce(json_agg(t)::text, '') FROM {table} t")
            assert SECRET not in dumped and "user:pw" not in dumped, table
        assert await db.fetchval("SELECT contact_address FROM escalator_storm_holds") == "https://hooks.slack.com:8443"
        addresses = {r["a"] for r in await db.fetch("SELECT payload->'contact'->>'address' AS a FROM escalator_timers")}
        assert addresses == {"https://hooks.slack.com:8443", "ann@example.com"}, "an email address stays"
        assert await db.fetchval("SELECT document ? 'channels' FROM escalator_policies") is False
        await db.execute("UPDATE escalator_outbox SET status = 'delivered'")  # the new status is allowed
    finally:
        await transaction.rollback()
    assert await db.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema) == 0
