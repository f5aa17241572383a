"""The escalator refuses to start on a policy it cannot use, saying where the problem is."""

import os
import subprocess
from pathlib import Path

from tests.integration.conftest import ESCALATOR_ENV
from tests.integration.services import BIN, SPARE_PORT

FAST_DEMO = Path(ESCALATOR_ENV["INCIDENTS_POLICY_FILE"])


def _start(policy: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **ESCALATOR_ENV, "INCIDENTS_POLICY_FILE": str(policy)}
    env["INCIDENTS_ESCALATOR_HTTP_PORT"] = str(SPARE_PORT)
    return subprocess.run(
        [str(BIN / "incidents-escalator")], env=env, capture_output=True, text=True, timeout=90, check=False
    )


def test_a_wrong_policy_stops_the_escalator_naming_file_and_line(tmp_path: Path) -> None:
    text = FAST_DEMO.read_text()
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "acknowledge: 5s" in row)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("acknowledge: 5s", "acknowledge: soon"))

    result = _start(bad)

    assert result.returncode == 2
    assert f"{bad} line {line} (priorities.P1.acknowledge)" in result.stderr
    assert "is not a duration" in result.stderr


def test_the_same_policy_version_with_other_content_is_refused(services: object, tmp_path: Path) -> None:
    edited = tmp_path / "edited.yaml"
    edited.write_text(FAST_DEMO.read_text().replace("acknowledge: 5s", "acknowledge: 6s"))

    result = _start(edited)

    assert result.returncode == 2
    assert "policy fast-demo version 3 was used before with other content; bump the version" in result.stderr
