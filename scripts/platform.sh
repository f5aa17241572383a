#!/usr/bin/env bash
# Run the platform: the devstack (Kafka + PostgreSQL), topics and migrations, and the three services.
#
#   scripts/platform.sh [--profile dev|test] run|up|down|status
#
#   run     everything in the foreground; Ctrl-C stops the services (Kafka and PostgreSQL keep running
#           for the next start; `make down` stops them)
#   up      the same in the background, for scripts; waits until every service answers /healthz
#   down    stops the services, Kafka and PostgreSQL, each by its own PID
#   status  one line per component
#
# The work is done by the devstack package (tools/devstack/src/devstack/platform.py).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/bootstrap.sh"
if (($# == 0)); then set -- status; fi
exec "$ROOT/.venv/bin/devstack" "$@"
