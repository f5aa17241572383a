"""Entry point of the command API."""

import uvicorn

from command_api.app import create_app
from command_api.settings import ApiSettings
from incidents_shared.logging import configure_logging
from incidents_shared.settings import load_settings


def main() -> None:
    settings = load_settings(ApiSettings)
    configure_logging(settings.log_level, settings.log_format)
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.api_port, log_config=None,
                access_log=False, timeout_graceful_shutdown=10)
