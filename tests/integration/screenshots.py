"""Screenshots taken by the browser tests, committed under docs/screenshots/ so the README can show them.

Each test run rewrites them. Shots are of the viewport (never the full page), so they stay small."""

from pathlib import Path
from typing import Protocol

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


class Screenshotting(Protocol):
    """What a Selenium WebDriver offers for a screenshot (the type `save_screenshot` asks of its driver)."""

    def get_screenshot_as_png(self) -> bytes: ...


def save_screenshot(driver: Screenshotting, name: str) -> Path:
    """Write the viewport of `driver` to docs/screenshots/{name}.png and return that path."""
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"a screenshot's name is a plain file stem, not {name!r}")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    path.write_bytes(driver.get_screenshot_as_png())
    return path
