"""Fixtures for tests against the real Kafka and PostgreSQL that `make test` starts."""

import asyncio
import json
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from devstack.tokens import read_role_view
from incidentctl.checker import check
from incidents_shared.settings import CommonSettings
from tests.integration.services import PORTS, ROOT, Service, require_env
from tests.integration.smtp import SMTP_ENV, SmtpServer, smtp_server

__all__ = ["smtp_server"]  # the session's SMTP server (tests.integration.smtp), a fixture of every test

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# The escalator runs the fast policy (P1 steps seconds apart); its channels post to a receiver on WEBHOOK_PORT
# (a free port of the machine: other test stacks may be using the fixed ones).
WEBHOOK_PORT = _free_port()
# The session's command API takes an alert mapping too: the defaults, a "page" severity and one grouping rule for
# labels only test_maintenance_windows sends. Every API instance of a deployment has the same mapping, and a held
# alert is released by whichever instance gets to it first, so that module's second API runs with this one.
ALERT_MAPPING = {
    "severities": {
        "critical": {"impact": "high", "urgency": "high"},
        "page": {"impact": "high", "urgency": "medium"},
        "warning": {"impact": "medium", "urgency": "medium"},
        "info": {"impact": "low", "urgency": "low"},
    },
    "grouping": [{"match": {"labels": {"grouped": "yes"}}, "by": ["alertname"], "window": "5m"}],  # decision 0077
}
_MAPPING_FILE = Path(tempfile.mkdtemp(prefix="incidents-test-")) / "alert-mapping.json"
_MAPPING_FILE.write_text(json.dumps(ALERT_MAPPING))
API_ENV = {"INCIDENTS_ALERT_MAPPING_FILE": str(_MAPPING_FILE)}
API_ENV["INCIDENTS_STATUS_SUBSCRIBE_PER_S"] = "100"  # schemathesis subscribes too; test_status_page must not wait
API_ENV["INCIDENTS_SLACK_SIGNING_SECRET"] = "test-slack-signing-secret"  # test_slack signs with it (decision 0080)
# test_auth and schemathesis send a wrong token to every route from 127.0.0.1; test_auth_limits starts its own API
# with a low limit and its own client addresses (decision 0089).
API_ENV["INCIDENTS_AUTH_FAILURES_PER_MIN"] = "1000000"
ESCALATOR_ENV = {
    "INCIDENTS_POLICY_FILE": str(ROOT / "examples" / "policies" / "fast-demo.yaml"),
    "INCIDENTS_WEBHOOK_BASE": f"http://127.0.0.1:{WEBHOOK_PORT}",
    # The receivers are local and plain http: allowed here as in the devstack (the target guard, decision 0079).
    "INCIDENTS_ALLOW_PRIVATE_TARGETS": "true",
    "INCIDENTS_ALLOW_HTTP_TARGETS": "true",
}
API_ENV |= SMTP_ENV  # email goes to the session's SMTP server (tests.integration.smtp)
ESCALATOR_ENV |= SMTP_ENV


@pytest.fixture(scope="session")
def settings() -> CommonSettings:
    require_env("INCIDENTS_KAFKA_BOOTSTRAP")
    require_env("INCIDENTS_DATABASE_URL")
    return CommonSettings()


@pytest.fixture(scope="session")
def tokens() -> dict[str, str]:
    """role -> token of the devstack's `dev-<role>` principals (the file itself names them: decision 0089)."""
    return read_role_view(Path(require_env("INCIDENTS_TOKENS_FILE")))


@pytest.fixture(scope="session")
def services(settings: CommonSettings, smtp_server: SmtpServer) -> Iterator[dict[str, Service]]:
    started = {name: Service(name, port) for name, port in PORTS.items()}
    started["escalator"].env.update(ESCALATOR_ENV)
    started["command-api"].env.update(API_ENV)
    try:
        for name in ("projector", "escalator", "command-api"):
            started[name].start()
    except BaseException:
        for service in started.values():  # leave nothing running behind a failed start
            service.kill()
        raise
    yield started
    codes = {name: service.stop() for name, service in started.items()}
    assert all(code == 0 for code in codes.values()), f"services did not stop cleanly: {codes}"
    # The invariant of the whole session: the read model is exactly the fold of the log.
    report = asyncio.run(check(settings))
    assert report.ok, "read model differs from the log:\n" + "\n".join(report.differences[:50])


@pytest.fixture(scope="session")
def api_url(services: dict[str, Service]) -> str:
    return services["command-api"].url


@pytest.fixture
async def api(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        yield client


@pytest.fixture
async def db(settings: CommonSettings) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(settings.database_url)
    try:
        yield conn
    finally:
        await conn.close()
