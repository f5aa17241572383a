"""The Dockerfile's copies name paths that exist (no Docker engine here, so this is what can be checked), and the
command API's image gets every browser asset the console and the docs pages need (docs/decisions/0088)."""

import re
import tomllib
from pathlib import Path

import yaml

from command_api.console.web import VENDOR_DIR, VENDOR_FILES

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
ASSETS_SCRIPT = (ROOT / "scripts" / "console-assets.sh").read_text()
COPY = re.compile(r"^COPY\s+(?P<flags>(?:--\S+\s+)*)(?P<args>.+?)$", re.MULTILINE)


def copies() -> list[tuple[str, list[str]]]:
    """(flags, sources) of every COPY instruction, continuation lines joined."""
    joined = DOCKERFILE.replace("\\\n", " ")
    return [(m["flags"], m["args"].split()[:-1]) for m in COPY.finditer(joined)]


def services() -> list[str]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    built = [svc["build"]["args"]["SERVICE"] for svc in compose["services"].values() if "build" in svc]
    anchored = compose["x-api-image"]["build"]["args"]["SERVICE"]
    return sorted({*built, anchored})


def test_compose_builds_every_service_of_the_tree() -> None:
    assert services() == sorted(p.name for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").is_file())


def test_every_path_the_dockerfile_copies_from_the_context_exists_for_every_service() -> None:
    from_context = [sources for flags, sources in copies() if "--from" not in flags]
    assert len(from_context) >= 5
    for service in services():
        for sources in from_context:
            for source in sources:
                path = ROOT / source.replace("${SERVICE}", service)
                assert path.exists(), (service, source)


def test_nothing_the_dockerfile_copies_is_left_out_of_the_build_context() -> None:
    ignored = {
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip()[:1] not in "#"
    }
    for flags, sources in copies():
        if "--from" not in flags:
            for source in sources:
                assert source.split("/")[0] not in ignored, source


def test_the_assets_stage_copies_where_the_script_writes_and_the_wheel_packages_it() -> None:
    [(_, [built])] = [(flags, sources) for flags, sources in copies() if "--from=assets" in flags]
    vendor = VENDOR_DIR.relative_to(ROOT).as_posix()
    assert built.rstrip("/") == f"/src/{vendor}"  # the assets stage's WORKDIR is the script's ROOT
    assert "WORKDIR /src\nCOPY console/package.json console/package-lock.json console/" in DOCKERFILE
    assert 'VENDOR="$ROOT/' + vendor + '"' in ASSETS_SCRIPT
    pyproject = tomllib.loads((ROOT / "services" / "command-api" / "pyproject.toml").read_text())
    assert "console/static/vendor/*" in pyproject["tool"]["setuptools"]["package-data"]["command_api"]


def test_the_script_copies_every_file_the_pages_need() -> None:
    copied = {Path(line.strip().strip('"')).name for line in ASSETS_SCRIPT.split("FILES=(")[1].split(")")[0].split()}
    assert set(VENDOR_FILES) <= copied
    lock = (ROOT / "console" / "package-lock.json").read_text()
    for package in ("htmx.org", "swagger-ui-dist", "redoc"):
        assert f'"node_modules/{package}"' in lock, package  # pinned, so npm ci installs it
