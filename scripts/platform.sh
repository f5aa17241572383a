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
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PROFILE=dev
if [[ "${1:-}" == "--profile" ]]; then PROFILE="$2"; shift 2; fi
ACTION="${1:-status}"
STATE="$ROOT/.devstack"
[[ "$PROFILE" == test ]] && STATE="$ROOT/.devstack/test"
RUN_DIR="$STATE/run"
LOG_DIR="$STATE/logs"
SERVICES=(projector escalator command-api)
HEALTH_TIMEOUT=90

say() { printf 'platform: %s\n' "$*" >&2; }
die() { printf 'platform: ERROR: %s\n' "$*" >&2; exit 1; }

service_port() {
    case "$1" in
        command-api) echo "${INCIDENTS_API_PORT:-8000}" ;;
        projector) echo "${INCIDENTS_PROJECTOR_HTTP_PORT:-8001}" ;;
        escalator) echo "${INCIDENTS_ESCALATOR_HTTP_PORT:-8002}" ;;
    esac
}

prepare() {
    scripts/bootstrap.sh
    scripts/devstack.sh --profile "$PROFILE" start
    set -a
    # shellcheck disable=SC1091
    source "$STATE/env"
    set +a
    # The key of the signed audit checkpoints: kept with the stack, made once (set your own in production).
    if [[ -z "${INCIDENTS_AUDIT_KEY:-}" ]]; then
        [[ -s "$STATE/audit.key" ]] || (umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' > "$STATE/audit.key")
        INCIDENTS_AUDIT_KEY="$(cat "$STATE/audit.key")"
        export INCIDENTS_AUDIT_KEY
    fi
    .venv/bin/incidents-admin init
}

wait_healthy() { # $1 = service name, $2 = pid
    local port deadline
    port="$(service_port "$1")"
    deadline=$((SECONDS + HEALTH_TIMEOUT))
    until .venv/bin/python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/healthz', timeout=1)" 2>/dev/null; do
        kill -0 "$2" 2>/dev/null || die "$1 exited during start-up; see $LOG_DIR/$1.log"
        ((SECONDS < deadline)) || die "$1 did not answer /healthz on port $port within ${HEALTH_TIMEOUT}s; see $LOG_DIR/$1.log"
        sleep 0.3
    done
}

start_service() { # $1 = name; starts in the background with a pid file, unless already running
    local pidfile="$RUN_DIR/$1.pid" pid
    if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        say "$1 already running (pid $(cat "$pidfile"))"
        return
    fi
    local port
    port="$(service_port "$1")"
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        die "port $port (for $1) is already in use by another program; set INCIDENTS_${1^^}_PORT"
    fi
    mkdir -p "$RUN_DIR" "$LOG_DIR"
    INCIDENTS_LOG_FORMAT="${INCIDENTS_LOG_FORMAT:-json}" setsid nohup ".venv/bin/incidents-$1" \
        >>"$LOG_DIR/$1.log" 2>&1 < /dev/null &
    pid=$!
    echo "$pid" > "$pidfile"
    wait_healthy "$1" "$pid"
    say "$1 up (pid $pid, http://127.0.0.1:$port)"
}

banner() {
    cat <<MSG

  Incident platform is up.
    API:        http://127.0.0.1:$(service_port command-api)   (docs: http://127.0.0.1:$(service_port command-api)/docs)
    projector:  http://127.0.0.1:$(service_port projector)/healthz
    escalator:  http://127.0.0.1:$(service_port escalator)/healthz
    env:        $STATE/env   (source it to use incidentctl / the services' settings)
    tokens:     $STATE/tokens.json
MSG
    .venv/bin/python - "$STATE/tokens.json" <<'PY'
import json, sys
for role, token in json.load(open(sys.argv[1])).items():
    print(f"      {role:<12} {token}")
PY
    echo
}

stop_services() { # in a subshell: sourcing devstack.sh resets its own variables (RUN_DIR among them)
    local pid_dir="$RUN_DIR"
    (
        # shellcheck disable=SC1091
        source scripts/devstack.sh
        for svc in command-api escalator projector; do
            stop_pidfile "$pid_dir/$svc.pid" 15
        done
    )
}

case "$ACTION" in
    up)
        prepare
        for svc in "${SERVICES[@]}"; do start_service "$svc"; done
        banner
        ;;
    run)
        prepare
        trap 'say "stopping services"; stop_services' EXIT
        trap 'exit 0' INT TERM  # Ctrl-C is the normal way to stop `make run`
        for svc in "${SERVICES[@]}"; do start_service "$svc"; done
        banner
        say "following the service logs; Ctrl-C stops the services"
        tail -n 0 -F "$LOG_DIR/projector.log" "$LOG_DIR/escalator.log" "$LOG_DIR/command-api.log" &
        wait
        ;;
    down)
        scripts/devstack.sh --profile "$PROFILE" stop
        ;;
    status)
        scripts/devstack.sh --profile "$PROFILE" status
        ;;
    *) die "unknown action $ACTION (run|up|down|status)" ;;
esac
