"""The README's tour is executed as written, against the real services."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from incidents_shared.domain.events import BOOKKEEPING_TYPES
from tests.integration.services import ROOT

pytestmark = pytest.mark.skipif(
    shutil.which("jq") is None or shutil.which("curl") is None,
    reason="the tour uses curl and jq (.ci/run installs them)",
)


def _tour() -> str:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- tour:start -->\n```bash\n(.*?)```\n<!-- tour:end -->", readme, re.S)
    assert block is not None, "README.md has a tour block"
    return block.group(1)


def test_readme_tour_runs_and_walks_one_incident_to_review(api_url: str, tokens: dict[str, str]) -> None:
    tokens_file = Path(os.environ["INCIDENTS_TOKENS_FILE"])
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", _tour()],
        env={"PATH": "/usr/bin:/bin", "API": api_url, "TOKENS": str(tokens_file)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert '{"status":"resolved","resolution_code":"fixed"}' in lines
    assert '{"status":"closed"}' in lines
    timeline = [line.split()[1] for line in lines if re.match(r"^\d+ incident\.", line)]
    timeline = [t for t in timeline if t not in BOOKKEEPING_TYPES]  # the escalator's SLA targets and deliveries
    assert timeline == [
        "incident.logged",
        "incident.categorized",
        "incident.assigned",
        "incident.acknowledged",
        "incident.investigation_started",
        "incident.note_added",
        "incident.stakeholder_update_posted",
        "incident.resolved",
        "incident.closed",
        "incident.review_completed",
    ]
