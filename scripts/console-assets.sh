#!/usr/bin/env bash
# Build the console's and /docs' browser assets: `npm ci` in console/ (pinned by its package-lock.json) and copy
# the files the pages load into the command API's static dir (build output, gitignored). Skips the work when the
# lockfile has not changed since the last copy and every file is there. Called by scripts/bootstrap.sh and by the
# Dockerfile's assets stage.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="$ROOT/services/command-api/src/command_api/console/static/vendor"
FILES=(
    "htmx.org/dist/htmx.min.js"
    "swagger-ui-dist/swagger-ui-bundle.js"
    "swagger-ui-dist/swagger-ui.css"
    "redoc/bundles/redoc.standalone.js"
)
# ReDoc's sidebar footer shows Redocly's logo from their CDN (no option turns it off): an empty image of this
# origin instead, so /redoc makes no request elsewhere (offline, and under the CSP's img-src 'self' data:).
REDOC_LOGO="https://cdn.redoc.ly/redoc/logo-mini.svg"
EMPTY_SVG="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E"
stamp="$(sha256sum "$ROOT/console/package-lock.json" "$0" | sha256sum | cut -d' ' -f1)"
fresh=1
for file in "${FILES[@]}"; do [[ -f "$VENDOR/$(basename "$file")" ]] || fresh=0; done
[[ -f "$ROOT/console/node_modules/axe-core/axe.min.js" ]] || fresh=0  # the browser tests' accessibility checker
if [[ $fresh == 1 && -f "$VENDOR/.stamp" && "$(cat "$VENDOR/.stamp")" == "$stamp" ]]; then
    exit 0
fi
command -v npm >/dev/null || { echo "console-assets: npm is required to build the console (Debian: apt-get install npm)" >&2; exit 1; }
echo "console-assets: npm ci in console/ (pinned by package-lock.json)" >&2
# --ignore-scripts: no package runs code at install time (swagger-ui-dist's telemetry postinstall included).
(cd "$ROOT/console" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2) \
    || { echo "console-assets: npm ci failed; is the npm registry reachable?" >&2; exit 1; }
mkdir -p "$VENDOR"
for file in "${FILES[@]}"; do cp "$ROOT/console/node_modules/$file" "$VENDOR/"; done
sed -i "s|$REDOC_LOGO|$EMPTY_SVG|g" "$VENDOR/redoc.standalone.js"
if grep -q "cdn\." "$VENDOR/redoc.standalone.js"; then
    echo "console-assets: redoc.standalone.js still names a CDN; see the logo's replacement above" >&2; exit 1
fi
echo "$stamp" > "$VENDOR/.stamp"
