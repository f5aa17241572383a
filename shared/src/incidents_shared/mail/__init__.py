"""Email over SMTP: settings (`INCIDENTS_SMTP_URL`, `INCIDENTS_SMTP_FROM`), the transport and message composition.

Shared by the escalator's email channel and the command API's status-page subscriptions (docs/decisions/0078).
"""
