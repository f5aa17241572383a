"""Command API settings (INCIDENTS_ prefix)."""

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator

from command_api.alerts_config import load_mapping
from incidents_shared import addresses
from incidents_shared.mail.settings import SmtpSettings
from incidents_shared.page_links import PageLinkSettings
from incidents_shared.settings import CommonSettings, Port


class ApiSettings(CommonSettings, PageLinkSettings, SmtpSettings):
    api_port: Port = addresses.API
    tokens_file: Path | None = None
    token_hashes: str = ""  # "principal:role:sha256hex,..." for deployments that keep no plaintext tokens
    verdict_timeout_s: Annotated[float, Field(gt=0, le=60)] = 5.0
    append_timeout_s: Annotated[float, Field(gt=0, le=60)] = 5.0
    max_body_bytes: Annotated[int, Field(ge=1_024, le=50_000_000)] = 1_000_000
    retry_after_s: Annotated[int, Field(ge=1, le=3_600)] = 5
    rate_limit_per_s: Annotated[float, Field(gt=0, le=1_000_000)] = 2_000.0  # per principal
    rate_limit_burst: Annotated[int, Field(ge=1, le=1_000_000)] = 4_000
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
        return self
