"""The escalator's mail to status subscribers against the real SMTP server: a temporary refusal (4xx) is retried
until the mail is accepted, once; a permanent one (5xx) is recorded failed with the server's reply and not retried;
the outbox never holds the address, and the Kafka log never does."""

import uuid

import asyncpg
import httpx

from incidents_shared.settings import CommonSettings
from tests.integration.helpers import eventually, records_in_log
from tests.integration.smtp import SmtpServer
from tests.integration.test_status_page import confirm, open_incident, post_update, resolve


async def outbox(db: asyncpg.Connection, address: str) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT o.status, o.attempts, o.last_error FROM status_mail_outbox o"
        " JOIN status_subscribers s USING (subscriber_id) WHERE s.email = $1",
        address,
    )


async def test_a_temporary_refusal_is_retried_and_a_permanent_one_is_recorded_failed(
    api: httpx.AsyncClient,
    tokens: dict[str, str],
    smtp_server: SmtpServer,
    db: asyncpg.Connection,
    settings: CommonSettings,
) -> None:
    patient = f"patient-{uuid.uuid4().hex[:8]}@customers.test"
    gone = f"gone-{uuid.uuid4().hex[:8]}@customers.test"
    service = f"retry-{uuid.uuid4().hex[:8]}"
    incident_id = await open_incident(api, tokens, service, "Before anyone subscribed.")
    await confirm(api, smtp_server, patient)
    await confirm(api, smtp_server, gone)
    smtp_server.answer_next(2, "451 4.3.0 Try again later", to=patient)
    smtp_server.answer_next(1, "550 5.1.1 No such user", to=gone)
    await post_update(api, tokens, incident_id, "Retried until accepted.")

    [accepted] = await smtp_server.wait_for(lambda m: patient in m.recipients and "Retried" in m.part("plain"), 1, 30)
    tried = [m.reply[:3] for m in smtp_server.tried(patient) if "Retried" in m.part("plain")]
    assert tried == ["451", "451", "250"]

    async def failed() -> list[asyncpg.Record]:
        rows = await outbox(db, gone)
        return rows if rows and rows[0]["status"] == "failed" else []

    [row] = await eventually(failed, 20)
    assert row["attempts"] == 1 and row["last_error"].startswith("SMTP 550")
    assert [m.reply[:3] for m in smtp_server.tried(gone) if "Retried" in m.part("plain")] == ["550"]
    [sent] = await outbox(db, patient)
    assert (sent["status"], sent["attempts"]) == ("sent", 3)
    assert len([m for m in smtp_server.to(patient) if "Retried" in m.part("plain")]) == 1
    assert accepted.message["Message-ID"] == smtp_server.tried(patient)[-2].message["Message-ID"]  # the same mail

    log = b"".join(r.value for r in await records_in_log(settings))
    assert patient.encode() not in log and gone.encode() not in log
    await resolve(api, tokens, incident_id)
