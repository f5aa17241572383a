#!/usr/bin/env bash
# `make bench`: install wrk if missing (Debian, as root), then run bench/run.py on its own stack.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/bootstrap.sh
if ! command -v wrk >/dev/null 2>&1; then
    if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        apt-get install -y --no-install-recommends wrk </dev/null >/dev/null || {
            apt-get update >/dev/null && apt-get install -y --no-install-recommends wrk </dev/null >/dev/null; }
    else
        echo "bench: wrk is needed (Debian: apt-get install wrk)" >&2
        exit 1
    fi
fi
exec .venv/bin/python -m bench.run "$@"
