"""Escalator settings (INCIDENTS_ prefix)."""

import os
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator

from escalator.targets import Allowances, channel_url_problems
from incidents_shared import addresses
from incidents_shared.domain.escalation.policy import Policy
from incidents_shared.mail.settings import SmtpSettings
from incidents_shared.page_links import PageLinkSettings
from incidents_shared.policy_file import DEFAULT_POLICY_FILE, PolicyError, load_policy_file
from incidents_shared.settings import CommonSettings, Port

GROUP_ID = "escalator"


class EscalatorSettings(CommonSettings, PageLinkSettings, SmtpSettings):
    escalator_http_port: Port = addresses.ESCALATOR
    escalator_batch_max: Annotated[int, Field(ge=1, le=100_000)] = 2_000
    escalator_poll_ms: Annotated[int, Field(ge=1, le=10_000)] = 100
    policy_file: Path = DEFAULT_POLICY_FILE
    timer_tick_s: Annotated[float, Field(gt=0, le=5)] = 0.2  # due timers fire within one tick plus an append
    append_timeout_s: Annotated[float, Field(gt=0, le=120)] = 5.0
    notify_timeout_s: Annotated[float, Field(gt=0, le=120)] = 5.0
    notify_max_attempts: Annotated[int, Field(ge=1, le=50)] = 6
    notify_backoff_s: Annotated[float, Field(gt=0, le=600)] = 1.0  # doubles per attempt, with full jitter
    notify_concurrency: Annotated[int, Field(ge=1, le=1000)] = 50
    # Fault injection for tests only: exit(137) right after Kafka acked an event of this type, before the
    # escalator records that it fired (simulates kill -9 at the worst moment). Never set it in production.
    escalator_crash_after_emit: str | None = None
    # Fault injection for tests only: exit(137) right after a receiver accepted a notification, before the
    # delivery is recorded (the next instance delivers again, with the same Idempotency-Key).
    escalator_crash_after_delivery: bool = False
    # Fault injection for tests only: this escalator's clock runs this many seconds ahead (negative: behind).
    escalator_clock_skew_s: Annotated[float, Field(ge=-86_400, le=86_400)] = 0.0
    # The target guard (escalator.targets, decision 0079): webhook and Slack targets in private, loopback,
    # link-local and other non-global ranges, and plain http, are refused unless allowed (the devstack allows both).
    allow_private_targets: bool = False
    allow_http_targets: bool = False

    @field_validator("policy_file")
    @classmethod
    def _exists(cls, value: Path) -> Path:
        if not value.is_file():
            raise ValueError(f"policy file {value} does not exist (see examples/policies/)")
        return value

    def load_policy(self) -> Policy:
        """The policy file, validated; `${NAME}` in it is taken from the environment (raises PolicyError)."""
        policy = load_policy_file(self.policy_file, os.environ)
        if problems := channel_url_problems(policy, self.target_allowances()):
            raise PolicyError(f"{self.policy_file}: channels the target guard refuses:\n" + "\n".join(problems))
        return policy

    def target_allowances(self) -> Allowances:
        return Allowances(private=self.allow_private_targets, http=self.allow_http_targets)
