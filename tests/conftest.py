"""Suite-wide rules. In CI (`CI` set, as .ci/run runs), a skipped test fails the run: every test of the suite
must run there, so a missing peer (Chromium, Alertmanager, kcat) or an unmet condition shows as a failure, not as
a quiet "s" in the progress line."""

import os

import pytest

SKIPPED: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        SKIPPED.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if SKIPPED and os.environ.get("CI", "").lower() not in ("", "0", "false"):
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"CI: {len(SKIPPED)} skipped test(s) fail the run: {', '.join(SKIPPED[:10])}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
