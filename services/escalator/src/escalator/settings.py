"""Escalator settings (INCIDENTS_ prefix)."""

from typing import Annotated

from pydantic import Field

from incidents_shared.settings import CommonSettings, Port

GROUP_ID = "escalator"


class EscalatorSettings(CommonSettings):
    escalator_http_port: Port = 8002
    escalator_batch_max: Annotated[int, Field(ge=1, le=100_000)] = 2_000
    escalator_poll_ms: Annotated[int, Field(ge=1, le=10_000)] = 100
