"""The real broker and database the platform relies on: idempotent produce, group offsets, migrations."""

import shutil
import subprocess
import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from incidents_shared.db import migrate, migration_files
from incidents_shared.kafka import LOG_TOPIC_CONFIG, UnsafeTopicConfig, verify_log_topic
from incidents_shared.settings import CommonSettings


async def _scratch_topic(settings: CommonSettings, configs: dict[str, str] | None = None) -> str:
    name = f"test.scratch.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 2, 1, topic_configs=configs or {})])
    finally:
        await admin.close()
    return name


async def test_idempotent_acks_all_produce_and_group_offsets(settings: CommonSettings) -> None:
    topic = await _scratch_topic(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        metadata = [await producer.send_and_wait(topic, f"m{i}".encode(), key=b"k") for i in range(10)]
    finally:
        await producer.stop()
    assert [m.offset for m in metadata] == list(range(10)), "one partition per key, offsets in order"

    group = f"test-group-{uuid.uuid4().hex[:6]}"
    first = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await first.start()
    try:
        got = await first.getmany(timeout_ms=10_000, max_records=4)
        records = [r for batch in got.values() for r in batch]
        assert [r.value for r in records] == [b"m0", b"m1", b"m2", b"m3"]
        await first.commit()
    finally:
        await first.stop()

    second = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await second.start()
    try:
        got = await second.getmany(timeout_ms=10_000)
        first_value = next(r.value for batch in got.values() for r in batch)
        assert first_value == b"m4", "the group resumes after its commit"
    finally:
        await second.stop()


async def test_log_topic_guard_refuses_deleting_configs(settings: CommonSettings) -> None:
    assert await verify_log_topic(settings) >= 1
    risky = await _scratch_topic(settings, {"retention.ms": "604800000"})
    with pytest.raises(UnsafeTopicConfig, match=r"retention\.ms=604800000"):
        await verify_log_topic(settings, topic=risky)
    safe = await _scratch_topic(settings, LOG_TOPIC_CONFIG)
    assert await verify_log_topic(settings, topic=safe) == 2


async def test_migrations_apply_in_order_and_twice_cleanly(settings: CommonSettings) -> None:
    schema = f"migrate_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
        await conn.execute(f"SET search_path TO {schema}")
        first = await migrate(conn)
        second = await migrate(conn)
        recorded = [r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations ORDER BY 1")]
        tables = {
            r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema)
        }
    finally:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.close()
    expected = [version for version, _ in migration_files()]
    assert first == expected
    assert second == []
    assert recorded == expected
    assert {"incidents", "incident_events", "event_verdicts", "consumer_offsets", "schema_migrations"} <= tables


@pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat is not installed (.ci/run installs it)")
def test_kcat_sees_both_topics(settings: CommonSettings) -> None:
    listing = subprocess.run(
        ["kcat", "-L", "-b", settings.kafka_bootstrap], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    assert f'topic "{settings.events_topic}"' in listing
    assert f'topic "{settings.dlq_topic}"' in listing
