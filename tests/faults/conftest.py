"""The fault suite reuses the integration fixtures and adds control over the broker and the database."""

from collections.abc import Iterator

import pytest

from tests.faults import report
from tests.faults.stack import Stack
from tests.integration.conftest import api, api_url, db, services, settings, smtp_server, tokens


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    yield Stack()
    report.write()


__all__ = ["api", "api_url", "db", "services", "settings", "smtp_server", "stack", "tokens"]
