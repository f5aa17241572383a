#!/usr/bin/env bash
# The local stack without Docker: a real single-node Kafka (KRaft, jars from Maven Central) and a private
# PostgreSQL 15 per profile. The work is done by the devstack package (tools/devstack, decisions 0001 and 0063):
#
#   scripts/devstack.sh [--profile dev|test|bench] start|stop|status|env|wipe
#
# Profiles and their ports: tools/devstack/src/devstack/profiles.py. `.venv/bin/devstack --help` for more.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/bootstrap.sh"
exec "$ROOT/.venv/bin/devstack" "$@"
