"""The README's tour is executed as written, against the real services."""

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from incidents_shared.domain.events import BOOKKEEPING_TYPES
from tests.integration.conftest import _free_port
from tests.integration.services import BIN, ROOT
from tests.integration.test_incidentctl_directory import example, incidentctl, write

pytestmark = pytest.mark.skipif(
    shutil.which("jq") is None or shutil.which("curl") is None,
    reason="the tour uses curl and jq (.ci/run installs them)",
)


def _tour(name: str = "tour") -> str:
    readme = (ROOT / "README.md").read_text()
    block = re.search(rf"<!-- {name}:start -->\n```bash\n(.*?)```\n<!-- {name}:end -->", readme, re.S)
    assert block is not None, f"README.md has a {name} block"
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


@pytest.fixture
def pages_receiver() -> Iterator[str]:
    """`make pages` (devstack pages) on a free port: what the on-call tour reads its page from."""
    port = _free_port()
    receiver = subprocess.Popen([str(BIN / "devstack"), "pages", "--port", str(port)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.1):
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        receiver.terminate()
        receiver.wait(10)


def test_readme_oncall_tour_pages_the_oncall_and_acknowledges_from_the_link(
    api_url: str, tokens: dict[str, str], tmp_path: Path, pages_receiver: str
) -> None:
    tag = uuid.uuid4().hex[:8]
    document = example(tag)
    for user in document["users"]:  # the example's people are paged at the receiver `make pages` runs on :9000
        for method in user["contact_methods"]:
            method["address"] = method["address"].replace("http://127.0.0.1:9000", pages_receiver)
    applied = incidentctl(api_url, tokens["admin"], "apply", str(write(tmp_path / "directory.yaml", document)))
    assert applied.returncode == 0, applied.stdout + applied.stderr

    env = {"PATH": "/usr/bin:/bin", "API": api_url, "TOKENS": os.environ["INCIDENTS_TOKENS_FILE"],
           "PAGES": pages_receiver, "TEAM": f"payments-{tag}", "SERVICE": f"payments-{tag}"}  # fmt: skip
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", _tour("oncall-tour")], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    oncall, page, acked, *timeline = (json.loads(line) for line in result.stdout.splitlines())
    assert oncall["team"] == f"payments-{tag}" and oncall["user"], "someone is on call for the team"
    assert (page["user"], page["reason"], page["level"]) == (oncall["user"], "step", 1), "the on-call was paged"
    assert page["contact"] == {"index": 0, "kind": "webhook"}
    assert acked["status"] == "acknowledged"
    [ack] = [e for e in timeline if e["type"] == "incident.acknowledged"]
    assert ack["actor"] == oncall["user"] and ack["page_link"], "acknowledged as the paged person, by the link"
