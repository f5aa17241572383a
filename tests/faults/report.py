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
    sent: int | None  # None: a single scripted scenario rather than a load
    acknowledged: int | None
    refused: int | None
    in_log: int | None


RUN: list[Row] = []


def record(fault: str, ledger: Ledger | None, folded: Folded) -> None:
    """Call at the end of a fault test, after its checks passed."""
    if ledger is None:
        RUN.append(Row(fault, None, None, None, None))
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
    lines += [f"| {r.fault} | {_n(r.sent)} | {_n(r.acknowledged)} | {_n(r.refused)} | {_n(r.in_log)} |" for r in RUN]
    text = DOC.read_text()
    start, end = text.index(START) + len(START), text.index(END)
    DOC.write_text(text[:start] + "\n" + "\n".join(lines) + "\n" + text[end:])


def _n(value: int | None) -> str:
    return "scripted" if value is None else str(value)
