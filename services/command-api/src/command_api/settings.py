"""Command API settings (INCIDENTS_ prefix)."""

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator

from command_api.alerts_config import load_mapping
from command_api.principals import load_principals
from incidents_shared import addresses
from incidents_shared.domain.limits import NoteLimits
from incidents_shared.mail.settings import SmtpSettings
from incidents_shared.page_links import PageLinkSettings
from incidents_shared.settings import CommonSettings, Port


class ApiSettings(CommonSettings, PageLinkSettings, SmtpSettings):
    api_port: Port = addresses.API
    tokens_file: Path | None = None
    token_hashes: str = ""  # "name:role:sha256hex,..." for deployments that keep no plaintext tokens (decision 0089)
    # Failed logins (a wrong bearer token, a refused console sign-in) allowed per client address and window before
    # that address gets 429 without its tokens being checked; counted in PostgreSQL across instances (decision 0089).
    auth_failures_per_min: Annotated[int, Field(ge=1, le=1_000_000)] = 20
    auth_failure_window_s: Annotated[int, Field(ge=1, le=86_400)] = 60
    verdict_timeout_s: Annotated[float, Field(gt=0, le=60)] = 5.0
    append_timeout_s: Annotated[float, Field(gt=0, le=60)] = 5.0
    max_body_bytes: Annotated[int, Field(ge=1_024, le=50_000_000)] = 1_000_000
    retry_after_s: Annotated[int, Field(ge=1, le=3_600)] = 5
    # A query past this, or a wait this long for a pooled connection, answers 503 with Retry-After (decision 0091).
    db_statement_timeout_s: Annotated[float, Field(ge=0, le=86_400)] = 10.0
    db_acquire_timeout_s: Annotated[float, Field(gt=0, le=3_600)] = 5.0
    # What one incident may take (decision 0091): notes beyond are refused 409, a larger note 422.
    max_notes_per_incident: Annotated[int, Field(ge=1, le=1_000_000)] = 10_000
    max_note_bytes: Annotated[int, Field(ge=1_000, le=1_000_000)] = 65_536
    rate_limit_per_s: Annotated[float, Field(gt=0, le=1_000_000)] = 2_000.0  # per principal
    rate_limit_burst: Annotated[int, Field(ge=1, le=1_000_000)] = 4_000
    # Live streams (/v1/stream) open at once, per API process and per principal (docs/decisions/0092).
    stream_max_per_instance: Annotated[int, Field(ge=1, le=1_000_000)] = 2_000
    stream_max_per_principal: Annotated[int, Field(ge=1, le=1_000_000)] = 50
    # /readyz answers the last background check of Kafka and PostgreSQL, made this often (decision 0092).
    readiness_check_s: Annotated[float, Field(gt=0, le=60)] = 2.0
    # Fault injection for the fault suite (docs/RELIABILITY.md): exit right after the log acknowledged an append.
    fault_crash_after_append: bool = False
    alert_mapping_file: Path | None = None  # YAML or JSON; see incidents_shared.domain.alerts.AlertMapping
    # How often the workers release what ended maintenance windows held and check heartbeats (decision 0076).
    watch_tick_s: Annotated[float, Field(gt=0, le=60)] = 1.0
    # How long a console sign-in lasts (docs/decisions/0084); sign-out or revoking the token ends it sooner.
    console_session_ttl_s: Annotated[int, Field(ge=60, le=30 * 86_400)] = 12 * 3_600
    # Slack's signing secret (decision 0080): without it /v1/integrations/slack/* answer 404.
    slack_signing_secret: SecretStr | None = None
    slack_answer_timeout_s: Annotated[float, Field(gt=0, le=10)] = 2.5  # the verdict wait: Slack waits 3 s
    # The public status page (decision 0081): its title, the services always listed as components (comma-separated
    # directory service ids), and subscription requests allowed per client address.
    status_title: Annotated[str, Field(min_length=1, max_length=100)] = "Service status"
    status_components: str = ""
    status_subscribe_per_s: Annotated[float, Field(gt=0, le=1_000)] = 0.1
    status_subscribe_burst: Annotated[int, Field(ge=1, le=10_000)] = 20

    def note_limits(self) -> NoteLimits:
        return NoteLimits(max_notes=self.max_notes_per_incident, max_note_bytes=self.max_note_bytes)

    @field_validator("alert_mapping_file")
    @classmethod
    def _mapping_is_valid(cls, value: Path | None) -> Path | None:
        load_mapping(value)  # fail at start-up, naming the file and the wrong keys
        return value

    @model_validator(mode="after")
    def _some_tokens(self) -> "ApiSettings":
        if self.tokens_file is not None and not self.tokens_file.is_file():
            raise ValueError(f"tokens_file {self.tokens_file} does not exist")
        if self.tokens_file is None and not self.token_hashes:
            raise ValueError("set INCIDENTS_TOKENS_FILE or INCIDENTS_TOKEN_HASHES: nobody could call the API")
        load_principals(self.tokens_file, self.token_hashes)  # refuse start-up naming a wrong entry (decision 0089)
        return self
