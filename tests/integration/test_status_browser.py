"""The status page as headless Chromium renders it (`--dump-dom`): degraded while an incident with a customers
update is open, operational once it is resolved, and nothing but the customers updates in what the browser shows.

Chromium is installed by scripts/bootstrap.sh (and .ci/run) when missing; without it this test fails."""

import asyncio
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import httpx
from lxml import html

from tests.integration.test_status_page import open_incident, resolve

FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-extensions",
]  # fmt: skip


def dump_dom(url: str, profile: Path) -> str:
    chromium = shutil.which("chromium")
    assert chromium, "chromium is not installed: scripts/bootstrap.sh installs it (apt-get install -y chromium)"
    command = [chromium, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", url]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0 and "<html" in result.stdout, result.stderr[-2000:]
    return result.stdout


def component_level(dom: str, component: str) -> str | None:
    tree = html.fromstring(dom)
    found = tree.xpath(f'//li[@data-component="{component}"]//span[@data-level]')
    return str(found[0].text_content()).strip() if found else None


async def rendered_level(url: str, component: str, wanted: str, profile: Path) -> str:
    """The level the browser shows, polled until it is `wanted` (the read model follows the log)."""
    shown: str | None = None
    for _ in range(20):
        dom = await asyncio.to_thread(dump_dom, url, profile)
        if (shown := component_level(dom, component)) == wanted:
            return dom
        await asyncio.sleep(0.5)
    raise AssertionError(f"the browser showed {component} as {shown}, not {wanted}")


async def test_chromium_shows_degraded_then_operational(
    api: httpx.AsyncClient, tokens: dict[str, str], api_url: str, tmp_path: Path
) -> None:
    service = f"web-{uuid.uuid4().hex[:8]}"
    incident_id = await open_incident(api, tokens, service, "Pages load slowly for some visitors.")
    dom = await rendered_level(f"{api_url}/status", service, "degraded", tmp_path / "profile")
    text = html.fromstring(dom).text_content()
    assert "Pages load slowly for some visitors." in text and "Some systems are affected" in text
    assert not re.search(r"SECRET|responder", text) and incident_id not in dom
    await resolve(api, tokens, incident_id)
    dom = await rendered_level(f"{api_url}/status", service, "operational", tmp_path / "profile")
    assert "SECRET" not in html.fromstring(dom).text_content()
