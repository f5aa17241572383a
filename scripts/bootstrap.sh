#!/usr/bin/env bash
# Create .venv/ and install our packages editable (shared, the three services, incidentctl, devstack) plus the dev
# tools, pinned by constraints.txt.
# Skips the work when nothing that decides the install has changed since the last run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"

"$PYTHON" - <<'PY' || { echo "bootstrap: Python 3.11 or newer is required (found $("$PYTHON" --version 2>&1))" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY

"$ROOT/scripts/console-assets.sh"  # the console's and /docs' browser assets (npm ci when its lockfile changed)

# Headless Chromium: the browser tests render the status page (test_status_browser) and the report with it.
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [[ "$(id -u)" == 0 ]]; then
    echo "bootstrap: installing chromium (apt-get) for the browser tests" >&2
    { apt-get install -y -q chromium || { apt-get update -q && apt-get install -y -q chromium; }; } >&2 \
        || echo "bootstrap: chromium could not be installed; the browser tests will fail" >&2
fi

stamp_inputs=(constraints.txt requirements-dev.txt shared/pyproject.toml services/*/pyproject.toml tools/*/pyproject.toml)
stamp="$(cat "${stamp_inputs[@]}" | sha256sum | cut -d' ' -f1)"
if [[ -x .venv/bin/python && -f .venv/.bootstrap-stamp && "$(cat .venv/.bootstrap-stamp)" == "$stamp" ]]; then
    exit 0
fi
[[ -x .venv/bin/python ]] || "$PYTHON" -m venv .venv
echo "bootstrap: installing Python packages into .venv/ (pinned by constraints.txt)" >&2
.venv/bin/python -m pip install -q --upgrade pip >&2 || echo "bootstrap: pip upgrade skipped" >&2
.venv/bin/python -m pip install -q -c constraints.txt -r requirements-dev.txt \
    -e shared -e services/command-api -e services/projector -e services/escalator -e tools/incidentctl -e tools/devstack >&2 \
    || { echo "bootstrap: pip install failed; is PyPI reachable?" >&2; exit 1; }
echo "$stamp" > .venv/.bootstrap-stamp
