"""Slack both ways, the inbound half: signed interactions and the `/incident` slash command (decision 0080)."""
