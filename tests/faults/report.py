"""Figures of the last fault-suite run, written into docs/RELIABILITY.md between markers.

The table says what ran: a run with failed tests, or a filtered run (a file, `-k`, `-m`, a deselection), is
written as such, row by row, never under "every row passed"."""

import subprocess
from dataclasses import dataclass, field
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
    retried: int | None = None  # acknowledged after a 503 or no answer, retried with the same key...
    retried_once: int | None = None  # ...and found in the log exactly once


@dataclass
class Run:
    rows: list[Row] = field(default_factory=list)
    outcomes: dict[str, str] = field(default_factory=dict)  # test node id -> passed / failed / skipped / error
    full: bool = True  # the whole suite was selected


RUN = Run()


def record(fault: str, ledger: Ledger | None, folded: Folded) -> None:
    """Call at the end of a fault test, after its checks passed."""
    if ledger is None:
        RUN.rows.append(Row(fault, None, None, None, None))
        return
    acknowledged = ledger.acknowledged
    found = sum(1 for c in acknowledged if folded.in_log[ledger.event_id(c)] == 1)
    retried = sum(1 for c in acknowledged if c.unanswered)
    RUN.rows.append(
        Row(
            fault,
            ledger.sent,
            len(acknowledged),
            ledger.sent - len(acknowledged),
            found,
            retried,
            folded.retried_found_once,
        )
    )


def outcome(nodeid: str, result: str) -> None:
    if RUN.outcomes.get(nodeid) in (None, "passed"):  # a failed teardown after a passed call is a failure
        RUN.outcomes[nodeid] = result


def summary() -> str:
    counts = {k: sum(1 for v in RUN.outcomes.values() if v == k) for k in ("passed", "failed", "error", "skipped")}
    ran = f"{len(RUN.outcomes)} tests: " + ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    scope = "the whole suite" if RUN.full else "a PARTIAL run (only some of the suite was selected)"
    verdict = (
        "every row passed all its checks"
        if RUN.full and counts["passed"] == len(RUN.outcomes)
        else "NOT every test passed or ran: see the status column"
    )
    return f"Last run: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} ({_commit()}), {scope}; {ran}; {verdict}."


def write() -> None:
    if not RUN.outcomes or not DOC.exists():
        return
    lines = [
        summary(),
        "",
        "| fault | commands sent | acknowledged (2xx) | refused or given up | acknowledged found in the log once"
        " | acknowledged after a 503 or no answer (retried with the key) | of those, in the log once |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.fault} | {_n(r.sent)} | {_n(r.acknowledged)} | {_n(r.refused)} | {_n(r.in_log)} | {_n(r.retried)}"
        f" | {_n(r.retried_once)} |"
        for r in RUN.rows
    ]
    bad = sorted(nodeid for nodeid, result in RUN.outcomes.items() if result != "passed")
    lines += [f"| **{RUN.outcomes[n].upper()}**: `{n}` | | | | | | |" for n in bad]
    text = DOC.read_text()
    start, end = text.index(START) + len(START), text.index(END)
    DOC.write_text(text[:start] + "\n" + "\n".join(lines) + "\n" + text[end:])


def _n(value: int | None) -> str:
    return "scripted" if value is None else str(value)


def _commit() -> str:
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return "commit unknown"
    return done.stdout.strip() or "commit unknown"
