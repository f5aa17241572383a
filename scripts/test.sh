#!/usr/bin/env bash
# `make test`: set up everything, start a private Kafka + PostgreSQL (test profile, ports 29092/25432, so a
# running `make up` is untouched), run the unit and integration tests, and stop what it started even on failure.
#
#   scripts/test.sh [pytest args...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/bootstrap.sh

started_here=0
cleanup() {
    local rc=$?
    if ((started_here)); then
        scripts/devstack.sh --profile test stop || true
    fi
    exit "$rc"
}
trap cleanup EXIT

# The test stack's own servers, never a user's: ignore INCIDENTS_* from the caller's environment.
unset INCIDENTS_KAFKA_BOOTSTRAP INCIDENTS_DATABASE_URL INCIDENTS_TOKENS_FILE
if [[ "${INCIDENTS_TEST_WIPE:-1}" == 1 ]]; then
    scripts/devstack.sh --profile test wipe
fi
started_here=1
scripts/devstack.sh --profile test start
set -a
# shellcheck disable=SC1091
source .devstack/test/env
set +a
export INCIDENTS_TOPIC_PARTITIONS="${INCIDENTS_TOPIC_PARTITIONS:-4}"
# Signed audit checkpoints every second, with a key of this run only.
export INCIDENTS_AUDIT_KEY="${INCIDENTS_AUDIT_KEY:-test-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')}"
export INCIDENTS_AUDIT_CHECKPOINT_S="${INCIDENTS_AUDIT_CHECKPOINT_S:-1}"
.venv/bin/incidents-admin init

.venv/bin/python -m pytest "$@"
