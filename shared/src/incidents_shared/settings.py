"""Settings shared by every service: pydantic-settings with the INCIDENTS_ prefix, validated at start-up."""

import re
import sys
from typing import Annotated, Literal, TypeVar

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from incidents_shared import addresses
from incidents_shared.audit import parse_public_keys

EVENTS_TOPIC = "incidents.events.v1"
DLQ_TOPIC = "incidents.events.dlq.v1"
DIRECTORY_TOPIC = "incidents.directory.v1"  # users, teams, services, schedules (docs/decisions/0069)

Port = Annotated[int, Field(ge=1, le=65535)]


class CommonSettings(BaseSettings):
    """What every service needs: where the log and the database are, and how to log."""

    model_config = SettingsConfigDict(env_prefix="INCIDENTS_", extra="ignore", frozen=True)

    kafka_bootstrap: Annotated[str, Field(min_length=3)] = addresses.DEFAULT_BOOTSTRAP
    database_url: Annotated[str, Field(min_length=10)] = addresses.DEFAULT_DATABASE_URL
    topic_partitions: Annotated[int, Field(ge=1, le=1000)] = 12
    topic_replication_factor: Annotated[int, Field(ge=1, le=10)] = 1
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = "auto"
    http_host: str = "127.0.0.1"
    db_pool_max: Annotated[int, Field(ge=1, le=200)] = 10
    startup_timeout_s: Annotated[float, Field(gt=0, le=600)] = 60.0
    # PostgreSQL's statement_timeout on every pooled connection (0: none), and how long a caller waits for a free
    # connection of the pool. Workers and tools run bulk statements (a batch's COPY, a rebuild): generous here;
    # the command API sets its own, short ones (docs/decisions/0091).
    db_statement_timeout_s: Annotated[float, Field(ge=0, le=86_400)] = 300.0
    db_acquire_timeout_s: Annotated[float, Field(gt=0, le=3_600)] = 60.0
    # Consumers (projector, escalator) let the broker gather records for a fetch: up to this many bytes or this
    # long, whichever comes first (docs/decisions/0053).
    consumer_fetch_min_bytes: Annotated[int, Field(ge=1, le=1_048_576)] = 16_384
    consumer_fetch_max_wait_ms: Annotated[int, Field(ge=0, le=500)] = 5
    # Trusted Ed25519 public keys of the audit checkpoints (`incidentctl audit verify`); the projector's private
    # key is its own setting, INCIDENTS_AUDIT_SIGNING_KEY_FILE (docs/decisions/0082).
    audit_public_keys: str = ""
    audit_checkpoint_s: Annotated[float, Field(gt=0, le=86_400)] = 60.0
    # The team an incident belongs to when its service is not in the directory's catalogue (never nobody).
    default_team: Annotated[str, Field(pattern=r"^[a-z0-9._-]{1,64}$")] = "service-desk"

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str) -> str:
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL, e.g. postgresql://user@127.0.0.1:5432/incidents")
        return value

    @field_validator("audit_public_keys")
    @classmethod
    def _public_keys(cls, value: str) -> str:
        parse_public_keys(value)
        return value

    @field_validator("kafka_bootstrap")
    @classmethod
    def _host_ports(cls, value: str) -> str:
        for server in value.split(","):
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{server!r} is not host:port (comma-separated list expected)")
        return value

    @property
    def events_topic(self) -> str:
        return EVENTS_TOPIC

    @property
    def dlq_topic(self) -> str:
        return DLQ_TOPIC

    @property
    def directory_topic(self) -> str:
        return DIRECTORY_TOPIC


S = TypeVar("S", bound=BaseSettings)


def redact(value: object) -> object:
    """Hide the password of a URL-like value before it is printed."""
    return re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", value) if isinstance(value, str) else value


def describe_errors(cls: type[BaseSettings], exc: ValidationError) -> str:
    """One line per wrong value, naming the environment variable to fix."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    lines = [f"invalid configuration for {cls.__name__}:"]
    for error in exc.errors():
        if not error["loc"]:  # a rule across settings: its input is every value given, secrets included
            lines.append(f"  {error['msg']}")
            continue
        name = (prefix + "_".join(str(part) for part in error["loc"])).upper()
        lines.append(f"  {name}={redact(error.get('input'))!r}: {error['msg']}")
    return "\n".join(lines)


def load_settings(cls: type[S]) -> S:
    """Build settings from the environment or exit with a clear message for every wrong value."""
    try:
        return cls()
    except ValidationError as exc:
        print(describe_errors(cls, exc), file=sys.stderr)
        raise SystemExit(2) from exc
