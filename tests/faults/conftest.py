"""The fault suite reuses the integration fixtures and adds control over the broker and the database."""

from pathlib import Path

import pytest

from tests.faults import report as last_run
from tests.faults.stack import Stack
from tests.integration.conftest import api, api_url, db, services, settings, smtp_server, tokens

SUITE = Path(__file__).parent


@pytest.fixture(scope="session")
def stack() -> Stack:
    return Stack()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Whether the whole suite runs: no `-k`/`-m`, and the arguments name the suite's directory itself."""
    named = {Path(str(arg).split("::")[0]).resolve() for arg in config.args}
    last_run.RUN.full = named == {SUITE} and not config.option.keyword and not config.option.markexpr


def pytest_deselected(items: list[pytest.Item]) -> None:
    last_run.RUN.full = False


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or report.outcome != "passed":
        result = "error" if report.when != "call" and report.outcome == "failed" else report.outcome
        last_run.outcome(report.nodeid, result)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    last_run.write()


__all__ = ["api", "api_url", "db", "services", "settings", "smtp_server", "stack", "tokens"]
