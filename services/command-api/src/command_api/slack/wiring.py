"""Building the Slack service from the settings: None when no signing secret is configured (the routes 404)."""

import dataclasses

from command_api.service import CommandService
from command_api.settings import ApiSettings
from command_api.slack.replay import PgSeenSignatures
from command_api.slack.service import Directory, Incidents, SlackService
from incidents_shared.db import Pool
from incidents_shared.directory_log import DirectoryLog


def slack_service(
    settings: ApiSettings, pool: Pool, commands: CommandService, incidents: Incidents, directory: DirectoryLog
) -> SlackService | None:
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    if not secret:
        return None  # an empty key would let anyone sign
    wait_s = min(commands.verdict_timeout_s, settings.slack_answer_timeout_s)  # Slack gives up after 3 s
    return SlackService(
        secret,
        PgSeenSignatures(pool),
        dataclasses.replace(commands, verdict_timeout_s=wait_s),
        incidents,
        Directory(lambda: directory.state, lambda: directory.is_ready),
    )
