"""The log on Kafka: topic creation, the retention guard, and the producer every writer uses."""

import asyncio

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError

from incidents_shared.settings import CommonSettings

log = structlog.get_logger(__name__)

# The log must never lose an event: no time or size retention, no compaction.
LOG_TOPIC_CONFIG = {
    "cleanup.policy": "delete",
    "retention.ms": "-1",
    "retention.bytes": "-1",
    "min.insync.replicas": "1",
}


class UnsafeTopicConfig(RuntimeError):
    """The log topic is configured so that Kafka would one day delete events."""


class TopicMissing(RuntimeError):
    """A topic the platform needs does not exist (run `incidents-admin init`)."""


def unsafe_settings(config: dict[str, str]) -> list[str]:
    """The settings of a log topic that would ever delete events; empty when the topic is safe."""
    problems = []
    if "compact" in config.get("cleanup.policy", "delete"):
        problems.append(f"cleanup.policy={config['cleanup.policy']} would compact events away")
    for key in ("retention.ms", "retention.bytes"):
        if key in config and config[key] != "-1":
            problems.append(f"{key}={config[key]} would delete events (must be -1)")
    return problems


async def ensure_topics(settings: CommonSettings) -> None:
    """Create the log, dead-letter and directory topics if missing (idempotent)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        topics = [
            NewTopic(
                settings.events_topic,
                settings.topic_partitions,
                settings.topic_replication_factor,
                topic_configs=LOG_TOPIC_CONFIG,
            ),
            NewTopic(settings.dlq_topic, 1, settings.topic_replication_factor, topic_configs=LOG_TOPIC_CONFIG),
            # One partition: the directory's rules need one total order (docs/decisions/0069).
            NewTopic(settings.directory_topic, 1, settings.topic_replication_factor, topic_configs=LOG_TOPIC_CONFIG),
        ]
        existing = set(await admin.list_topics())
        for topic in topics:
            if topic.name in existing:
                log.info("topic_exists", topic=topic.name)
                continue
            response = await admin.create_topics([topic])
            for name, code, *_ in response.topic_errors:
                if code not in (0, TopicAlreadyExistsError.errno):
                    raise RuntimeError(f"creating topic {name} failed with Kafka error code {code}")
            log.info("topic_created", topic=topic.name, partitions=topic.num_partitions)
    finally:
        await admin.close()


async def verify_log_topic(settings: CommonSettings, topic: str | None = None) -> int:
    """Refuse to run against a log topic that is missing or would delete events. Returns its partitions."""
    topic = topic or settings.events_topic
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
        info = described[0]
        if info.get("error_code", 0) != 0 or not info.get("partitions"):
            raise TopicMissing(f"topic {topic} does not exist; run `incidents-admin init`")
        resource = ConfigResource(ConfigResourceType.TOPIC, topic)
        response = await admin.describe_configs([resource])
        config = {entry[0]: entry[1] for entry in response[0].resources[0][4]}
        if problems := unsafe_settings(config):
            raise UnsafeTopicConfig(f"refusing to start: topic {topic}: " + "; ".join(problems))
        return len(info["partitions"])
    finally:
        await admin.close()


def make_producer(settings: CommonSettings, **overrides: object) -> AIOKafkaProducer:
    """An idempotent acks=all producer; the caller keys every record by incident id."""
    options: dict[str, object] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 2,
        "request_timeout_ms": 10_000,
        "compression_type": None,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


async def wait_for_kafka(settings: CommonSettings) -> None:
    """Retry until the broker answers metadata, up to the start-up timeout."""
    deadline = asyncio.get_running_loop().time() + settings.startup_timeout_s
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=5_000)
        try:
            await admin.start()
            await admin.list_topics()
            return
        except Exception as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise ConnectionError(f"Kafka at {settings.kafka_bootstrap} unreachable: {exc!r}") from exc
            log.warning("kafka_not_ready", bootstrap=settings.kafka_bootstrap, error=repr(exc))
            await asyncio.sleep(1.0)
        finally:
            await admin.close()
