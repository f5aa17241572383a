"""`incidentctl report` writes a self-contained HTML report whose figures are the API's, and a browser renders it."""

import re
import shutil
import struct
import subprocess
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.helpers import auth, eventually, log_incident
from tests.integration.services import BIN

SECTIONS = ("mtta-mttr-weekly", "breaches-by-priority", "top-recurring", "category-mix")


def _incidentctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "incidentctl"), *args], capture_output=True, text=True, timeout=120, check=False)


async def _history(api: httpx.AsyncClient, tokens: dict[str, str]) -> str:
    """Three recurring checkout/software incidents (acknowledged, two resolved), a database one, an unacknowledged
    P1 that breaches the fast policy's 5 s acknowledge target; returns the P1's id."""
    for n in range(3):
        created = await log_incident(api, tokens, title=f"checkout 502 #{n}", category="software")
        base = f"/v1/incidents/{created['incident_id']}"
        assert (await api.post(f"{base}/acknowledge", json={}, headers=auth(tokens, "responder"))).status_code == 200
        if n < 2:
            body = {"summary": "restarted"}
            assert (await api.post(f"{base}/resolve", json=body, headers=auth(tokens, "responder"))).status_code == 200
    await log_incident(api, tokens, title="slow queries", service="orders", category="database")
    p1 = await log_incident(api, tokens, title="all down", service="edge", impact="high", urgency="high")
    return str(p1["incident_id"])


async def _summary(api: httpx.AsyncClient, tokens: dict[str, str], start: datetime, end: datetime) -> dict[str, Any]:
    params = {"from": start.isoformat(), "to": end.isoformat()}
    response = await api.get("/v1/reports/summary", params=params, headers=auth(tokens, "manager"))
    assert response.status_code == 200, response.text
    groups: list[dict[str, Any]] = response.json()["groups"]
    return groups[0] if groups else {}


def _headline(page: str) -> dict[str, str]:
    return dict(re.findall(r'data-key="(\w+)" data-value="([^"]*)"', page))


def _png_colours(png: bytes) -> int:
    """Distinct colours of an 8-bit RGB(A) PNG (what Chromium writes), unfiltering every scanline."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, body = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        header, idat = (body, idat) if kind == b"IHDR" else (header, idat + body if kind == b"IDAT" else idat)
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6), (depth, colour)
    bpp = 3 if colour == 2 else 4
    raw, stride, prev, colours = zlib.decompress(idat), width * bpp, bytearray(width * bpp), set[bytes]()
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a, b = line[i - bpp] if i >= bpp else 0, prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            pred = (0, a, b, (a + b) // 2, _paeth(a, b, c))[kind]
            line[i] = (line[i] + pred) & 0xFF
        colours.update(bytes(line[i : i + bpp]) for i in range(0, stride, bpp * 7))  # a sample of pixels
        prev = line
    return len(colours)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def _screenshot(page: Path, tmp_path: Path) -> bytes:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium; .ci/run installs it)")
    png = tmp_path / "report.png"
    flags = "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking"
    flags += " --disable-component-update --disable-sync"
    command = [chromium, *flags.split(), f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}"]
    command += ["--window-size=1200,1600", page.as_uri()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert png.exists(), result.stderr
    return png.read_bytes()


async def test_report_is_self_contained_with_the_apis_figures_and_renders(
    api: httpx.AsyncClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    p1 = await _history(api, tokens)
    end = datetime.now(UTC) + timedelta(minutes=10)

    async def settled() -> dict[str, Any]:
        incident = (await api.get(f"/v1/incidents/{p1}", headers=auth(tokens, "manager"))).json()
        summary = await _summary(api, tokens, start, end)
        return summary if incident.get("breached") and summary.get("total") == 5 and summary["breaches"] else {}

    expected = await eventually(settled, timeout_s=30)
    assert expected, "the P1 did not breach its acknowledge target"

    html = tmp_path / "report.html"
    result = _incidentctl("report", "--since", start.isoformat(), "--until", end.isoformat(), "--html", str(html))
    assert result.returncode == 0, result.stderr
    page = html.read_text()

    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page, re.IGNORECASE)
    assert "<script" not in page.lower() and "@import" not in page and "url(" not in page
    for section in SECTIONS:
        assert f'id="{section}"' in page
    assert page.count("<svg") >= 4  # MTTA, MTTR, breaches, categories

    headline = _headline(page)
    assert int(headline["incidents"]) == expected["total"] == 5
    for name in ("mtta", "mttr"):
        for q in ("p50", "p90"):
            assert float(headline[f"{name}_{q}"]) == expected[f"{name}_seconds"][q]
    assert float(headline["sla_compliance_pct"]) == expected["sla_compliance_pct"]
    assert "checkout / software" in page and "database" in page

    shot = _screenshot(html, tmp_path)
    assert len(shot) > 20_000
    assert _png_colours(shot) > 20  # text, bars and lines in several colours, not a blank page
