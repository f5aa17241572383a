"""`incidentctl simulate --alert-mapping` on the real stack's log: six hosts' generic alerts opened six incidents
under the stack's mapping (one incident per alert); a candidate grouping them by alertname reports one, and one
page instead of six; the same log and mappings give the same report; a bad candidate is a usage error."""

import json
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.integration.helpers import auth
from tests.integration.services import BIN, ROOT

POLICY = ROOT / "examples" / "policies" / "default.yaml"


def simulate(candidate: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    args = ["simulate", "--alert-mapping", str(candidate), "--current", str(POLICY), *extra]
    return subprocess.run([str(BIN / "incidentctl"), *args], capture_output=True, text=True, timeout=120, check=False)


async def test_a_grouping_candidate_reports_fewer_incidents_and_pages(
    api: httpx.AsyncClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    service, name = f"checkout-{run}", f"Checkout5xx{run}"
    start = datetime.now(UTC) - timedelta(seconds=1)
    for n in range(6):
        body = {"summary": f"{name} on host{n}", "service": service, "severity": "critical",
                "labels": {"alertname": name, "instance": f"host{n}"}}  # fmt: skip
        answer = await api.post("/v1/alerts", json=[body], headers=auth(tokens, "integration"))
        assert answer.status_code == 200 and answer.json()["results"][0]["outcome"] == "opened", answer.text
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(f"version: 7\ngrouping:\n  - {{match: {{service: {service}}}, by: [alertname], window: 5m}}\n")
    window = ["--since", start.isoformat(), "--until", (datetime.now(UTC) + timedelta(seconds=5)).isoformat()]

    done = simulate(candidate, *window, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    current, grouped = report["total"]["current"], report["total"]["candidate"]
    assert current["incidents"] - grouped["incidents"] == 5, report["total"]
    assert current["pages"] - grouped["pages"] == 5, "six P1s page at once; grouped, one does"
    assert report["priorities"]["P1"]["current"]["incidents"] >= 6 and report["alerts"] >= 6
    assert report["mappings"]["candidate"] == {"version": 7, "grouping_rules": 1}
    assert simulate(candidate, *window, "--json").stdout == done.stdout, "the same log gives the same report"

    text = simulate(candidate, *window)
    assert text.returncode == 0 and "candidate alert mapping v7 (1 grouping rules)" in text.stdout
    assert "approximate" in text.stdout

    bad = tmp_path / "bad.yaml"
    bad.write_text("grouping: [{by: [alertname], window: soon}]\n")
    refused = simulate(bad)
    assert refused.returncode == 2 and "grouping.0.window:" in "".join(refused.stderr.split()), refused.stderr
