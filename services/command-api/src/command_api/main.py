"""Entry point of the command API."""

from command_api.app import create_app
from command_api.settings import ApiSettings
from incidents_shared.logging import configure_logging
from incidents_shared.service import run_forever, run_with_ops
from incidents_shared.settings import load_settings


def main() -> None:
    settings = load_settings(ApiSettings)
    configure_logging(settings.log_level, settings.log_format)
    app = create_app(settings)
    run_forever(run_with_ops("command-api", app, settings.http_host, settings.api_port, lifespan="on"))
