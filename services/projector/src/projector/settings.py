"""Projector settings (INCIDENTS_ prefix)."""

from typing import Annotated

from pydantic import Field

from incidents_shared import addresses
from incidents_shared.projection import GROUP_ID
from incidents_shared.settings import CommonSettings, Port

__all__ = ["GROUP_ID", "ProjectorSettings"]


class ProjectorSettings(CommonSettings):
    projector_http_port: Port = addresses.PROJECTOR
    projector_batch_max: Annotated[int, Field(ge=1, le=100_000)] = 20_000
    projector_poll_ms: Annotated[int, Field(ge=1, le=10_000)] = 100
