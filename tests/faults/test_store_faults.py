"""A record that decodes but that PostgreSQL refuses whatever is retried (issue 20, fault 6): the projector backs
off, isolates it (bisecting its batch), parks it like poison and goes on; nothing else waits for it."""

import asyncio
import uuid

import asyncpg
import httpx

from incidents_shared.domain.walk import STORE_REFUSED
from incidents_shared.settings import CommonSettings
from tests.faults import report
from tests.faults.ledger import Load, check_invariants
from tests.integration.helpers import auth, eventually

# A constraint the store enforces and the domain does not know: a check a DBA might add, here on one title.
REFUSE = """
CREATE OR REPLACE FUNCTION fault_refuse_title() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.title = '{title}' THEN
        RAISE EXCEPTION 'title refused by a store rule' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER fault_refuse_title BEFORE INSERT OR UPDATE ON incidents FOR EACH ROW
EXECUTE FUNCTION fault_refuse_title();
"""
LIFT = "DROP TRIGGER IF EXISTS fault_refuse_title ON incidents; DROP FUNCTION IF EXISTS fault_refuse_title()"


async def test_a_record_the_store_refuses_is_parked_and_the_rest_goes_on(
    api: httpx.AsyncClient, tokens: dict[str, str], db: asyncpg.Connection, settings: CommonSettings
) -> None:
    title = f"refused by the store {uuid.uuid4()}"
    await db.execute(REFUSE.format(title=title))
    try:
        load = Load(api, tokens)
        load.start()
        await asyncio.sleep(2)
        answer = await api.post(
            "/v1/incidents", json={"title": title, "service": "checkout"}, headers=auth(tokens, "responder")
        )
        assert answer.status_code == 202, answer.text  # appended; its verdict does not come

        async def dead_letter() -> asyncpg.Record | None:
            row: asyncpg.Record | None = await db.fetchrow(
                "SELECT d.incident_key, d.error, p.reason FROM dead_letters d JOIN parked_incidents p"
                " USING (incident_key) WHERE position($1::bytea IN d.value) > 0",
                title.encode(),
            )
            return row

        parked = await eventually(dead_letter, timeout_s=60)
        assert parked is not None, "the refused record was set aside"
        assert parked["error"].startswith(STORE_REFUSED) and "title refused by a store rule" in parked["error"]
        await asyncio.sleep(3)  # the load goes on past it
        ledger = await load.finish()
    finally:
        await db.execute(LIFT)
    assert len(ledger.acknowledged) > 50, "the load kept being served"
    incident_id = uuid.UUID(parked["incident_key"])
    assert await db.fetchval("SELECT count(*) FROM incidents WHERE incident_id = $1", incident_id) == 0
    folded = await check_invariants(settings, db, ledger)  # every other acknowledged command judged, once
    report.record("a record PostgreSQL refuses (deterministic store error)", ledger, folded)
