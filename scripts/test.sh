#!/usr/bin/env bash
# `make test`: set up everything, start a private Kafka + PostgreSQL (test profile, its own ports, so a running
# `make up` is untouched), run the unit and integration tests, and stop what it started even on failure.
#
#   scripts/test.sh [pytest args...]        (INCIDENTS_TEST_WIPE=0 keeps the previous run's data)
#
# The work is done by the devstack package (`devstack test`, tools/devstack/src/devstack/platform.py).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/bootstrap.sh"
exec "$ROOT/.venv/bin/devstack" test "$@"
