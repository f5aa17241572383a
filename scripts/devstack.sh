#!/usr/bin/env bash
# Local development stack without Docker: a real single-node Apache Kafka (KRaft, jars from Maven
# Central) and a private PostgreSQL 15 cluster, both bound to 127.0.0.1 on non-default ports.
#
#   scripts/devstack.sh [--profile dev|test|bench] start|stop|status|env|wipe
#
# Profiles: dev   -> state in .devstack/       Kafka 19092 (controller 19093), PostgreSQL 15432
#           test  -> state in .devstack/test/  Kafka 29092 (controller 29093), PostgreSQL 25432
#                    (PostgreSQL with fsync/synchronous_commit/full_page_writes off)
# Port overrides: INCIDENTS_DEVSTACK_KAFKA_PORT, INCIDENTS_DEVSTACK_KAFKA_CONTROLLER_PORT,
#                 INCIDENTS_DEVSTACK_PG_PORT. PostgreSQL binaries: INCIDENTS_DEVSTACK_PG_BIN.
#                 Extra postgres -c options: INCIDENTS_DEVSTACK_PG_OPTIONS.
# External servers: if INCIDENTS_KAFKA_BOOTSTRAP / INCIDENTS_DATABASE_URL are set (to something other
# than this stack's own address), the matching local server is not started and the env file carries
# the user's value.
# `start` writes <state>/env (KEY=value lines) and <state>/tokens.json (kept once created).
# Services of the platform may put pid files in <state>/run/*.pid; `stop` stops them too.
# The script can be sourced (functions only, e.g. stop_pidfile) without running anything.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEVSTACK_ROOT="$REPO_ROOT/.devstack"
KAFKA_POM="$REPO_ROOT/scripts/kafka/pom.xml"
LIBS_DIR="$DEVSTACK_ROOT/kafka/libs"
LIBS_MARKER="$LIBS_DIR/.fetch-complete"
PG_BIN="${INCIDENTS_DEVSTACK_PG_BIN:-/usr/lib/postgresql/15/bin}"
KAFKA_READY_TIMEOUT=90
KAFKA_STOP_GRACE=30
SERVICE_STOP_GRACE=15
DB_NAME=incidents
DB_ROLE=incidents
TOKEN_ROLES=(reporter responder manager integration auditor admin)

PROFILE=dev
STATE=""
KAFKA_DIR=""
PG_DIR=""
PG_DATA=""
RUN_DIR=""
KAFKA_PORT=""
KAFKA_CPORT=""
PG_PORT=""

log() { printf 'devstack[%s]: %s\n' "$PROFILE" "$*" >&2; }
die() {
    printf 'devstack[%s]: ERROR: %s\n' "$PROFILE" "$*" >&2
    exit 1
}

usage() {
    cat <<'EOF'
usage: scripts/devstack.sh [--profile dev|test] start|stop|status|env|wipe

  start   fetch Kafka jars once (Maven), start Kafka + PostgreSQL if needed, write <state>/env
  stop    stop services in <state>/run/*.pid, Kafka and PostgreSQL (harmless when nothing runs)
  status  one line per component; exit 0 if kafka and postgres are up/external, 3 otherwise
  env     print <state>/env
  wipe    stop, then delete the profile's Kafka/PostgreSQL data (keeps the jars and tokens.json)
EOF
}

# --- profile / paths ---------------------------------------------------------------------------

setup_profile() {
    case "$PROFILE" in
        dev)
            STATE="$DEVSTACK_ROOT"
            KAFKA_PORT="${INCIDENTS_DEVSTACK_KAFKA_PORT:-19092}"
            KAFKA_CPORT="${INCIDENTS_DEVSTACK_KAFKA_CONTROLLER_PORT:-19093}"
            PG_PORT="${INCIDENTS_DEVSTACK_PG_PORT:-15432}"
            ;;
        test)
            STATE="$DEVSTACK_ROOT/test"
            KAFKA_PORT="${INCIDENTS_DEVSTACK_KAFKA_PORT:-29092}"
            KAFKA_CPORT="${INCIDENTS_DEVSTACK_KAFKA_CONTROLLER_PORT:-29093}"
            PG_PORT="${INCIDENTS_DEVSTACK_PG_PORT:-25432}"
            ;;
        bench)
            STATE="$DEVSTACK_ROOT/bench"
            KAFKA_PORT="${INCIDENTS_DEVSTACK_KAFKA_PORT:-26092}"
            KAFKA_CPORT="${INCIDENTS_DEVSTACK_KAFKA_CONTROLLER_PORT:-26093}"
            PG_PORT="${INCIDENTS_DEVSTACK_PG_PORT:-26432}"
            ;;
        *) die "unknown profile '$PROFILE' (use dev, test or bench)" ;;
    esac
    local p
    for p in "$KAFKA_PORT" "$KAFKA_CPORT" "$PG_PORT"; do
        if ! [[ "$p" =~ ^[0-9]+$ ]] || ((p < 1 || p > 65535)); then
            die "invalid port '$p'"
        fi
    done
    [[ "$KAFKA_PORT" != "$KAFKA_CPORT" ]] || die "Kafka port and controller port must differ (both $KAFKA_PORT)"
    KAFKA_DIR="$STATE/kafka"
    PG_DIR="$STATE/pg"
    PG_DATA="$PG_DIR/data"
    RUN_DIR="$STATE/run"
}

is_root() { [[ "$(id -u)" -eq 0 ]]; }

# Serialise start/stop/wipe of one profile (parallel test workers). fd 9 must not leak into daemons.
take_lock() {
    mkdir -p "$STATE"
    command -v flock >/dev/null 2>&1 || return 0
    exec 9>"$STATE/.lock"
    flock -w 300 9 || die "another devstack command holds $STATE/.lock for more than 300 s"
}

random_b64url() { # $1 = number of random bytes
    head -c "$1" /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '='
}

# --- processes ---------------------------------------------------------------------------------

pid_alive() { # a zombie (exited, not yet reaped by its parent) counts as dead
    [[ "$1" =~ ^[0-9]+$ ]] && kill -0 "$1" 2>/dev/null || return 1
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null || true)"
    [[ "${stat##*) }" != Z* ]]
}

# pid_matches PID STRING: the live process's command line contains STRING (guards against pid reuse).
pid_matches() {
    local pid=$1 needle=$2 cmdline
    pid_alive "$pid" || return 1
    [[ -r "/proc/$pid/cmdline" ]] || return 1
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    [[ "$cmdline" == *"$needle"* ]]
}

read_pid() { # prints the pid stored in file $1 (first line) or nothing
    [[ -f "$1" ]] || return 0
    local pid
    pid="$(head -n1 "$1" 2>/dev/null | tr -d '[:space:]' || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] && printf '%s\n' "$pid"
    return 0
}

# stop_pidfile FILE GRACE_SECONDS [CMDLINE_MATCH]
# SIGTERM to the pid in FILE, wait up to GRACE seconds, then SIGKILL; removes FILE. Never kills by
# name. With CMDLINE_MATCH, a live pid whose command line does not contain it is not ours: the
# stale file is removed and nothing is killed.
stop_pidfile() {
    local file=$1 grace=$2 match=${3:-} pid i
    [[ -f "$file" ]] || return 0
    pid="$(read_pid "$file")"
    if [[ -z "$pid" ]] || ! pid_alive "$pid" || [[ "$pid" -le 1 || "$pid" -eq $$ ]]; then
        rm -f "$file"
        return 0
    fi
    if [[ -n "$match" ]] && ! pid_matches "$pid" "$match"; then
        log "pid $pid in $file is not ours any more (stale pid file removed)"
        rm -f "$file"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 5; i++)); do
        pid_alive "$pid" || break
        sleep 0.2
    done
    if pid_alive "$pid"; then
        log "pid $pid ($file) still alive after ${grace}s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            pid_alive "$pid" || break
            sleep 0.1
        done
    fi
    rm -f "$file"
}

# --- ports -------------------------------------------------------------------------------------

port_in_use() {
    local port=$1 out
    if command -v ss >/dev/null 2>&1; then
        out="$(ss -Hltn "sport = :$port" 2>/dev/null || true)"
        [[ -n "$out" ]]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
    fi
}

port_accepts() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

port_owner() { # best effort: "users:(("java",pid=1,fd=2))"
    command -v ss >/dev/null 2>&1 || return 0
    ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'users:.*' | head -n1 || true
}

require_free_port() { # $1 = port, $2 = what
    local port=$1 what=$2 owner
    if port_in_use "$port"; then
        owner="$(port_owner "$port")"
        die "port $port (for $what) is already in use${owner:+ by $owner}; stop that process or choose another port with the INCIDENTS_DEVSTACK_*_PORT variables"
    fi
}

# --- external servers --------------------------------------------------------------------------

local_bootstrap() { printf '127.0.0.1:%s' "$KAFKA_PORT"; }
local_db_url() { printf 'postgresql://%s@127.0.0.1:%s/%s' "$DB_ROLE" "$PG_PORT" "$DB_NAME"; }

# A value equal to this stack's own address (e.g. after `. .devstack/env`) is not "external".
external_kafka() {
    [[ -n "${INCIDENTS_KAFKA_BOOTSTRAP:-}" && "${INCIDENTS_KAFKA_BOOTSTRAP}" != "$(local_bootstrap)" ]]
}
external_db() {
    [[ -n "${INCIDENTS_DATABASE_URL:-}" && "${INCIDENTS_DATABASE_URL}" != "$(local_db_url)" ]]
}

# --- Kafka -------------------------------------------------------------------------------------

kafka_pidfile() { printf '%s/kafka.pid' "$KAFKA_DIR"; }
kafka_props() { printf '%s/server.properties' "$KAFKA_DIR"; }

kafka_running_pid() { # prints pid if our broker runs; removes a stale pid file
    local f pid
    f="$(kafka_pidfile)"
    pid="$(read_pid "$f")"
    if [[ -n "$pid" ]] && pid_matches "$pid" "$(kafka_props)"; then
        printf '%s\n' "$pid"
    elif [[ -f "$f" ]]; then
        rm -f "$f"
    fi
    return 0
}

check_java() {
    command -v java >/dev/null 2>&1 ||
        die "no 'java' on PATH: Kafka needs Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless)"
    local line ver major
    line="$(java -version 2>&1 | head -n1 || true)"
    ver="$(sed -n 's/.*version "\([^"]*\)".*/\1/p' <<<"$line")"
    major="${ver%%[.+-]*}"
    if [[ "$major" == 1 ]]; then
        major="$(cut -d. -f2 <<<"$ver")"
    fi
    [[ "$major" =~ ^[0-9]+$ ]] || die "cannot tell the Java version from: $line"
    ((major >= 17)) || die "java on PATH is version $ver ($(command -v java)); Kafka 4 needs Java 17 or newer"
}

pom_hash() { sha256sum "$KAFKA_POM" | cut -d' ' -f1; }

jars_complete() {
    [[ -f "$LIBS_MARKER" ]] && [[ "$(cat "$LIBS_MARKER")" == "$(pom_hash)" ]] &&
        compgen -G "$LIBS_DIR/kafka_2.13-*.jar" >/dev/null
}

fetch_jars() {
    [[ -f "$KAFKA_POM" ]] || die "missing $KAFKA_POM"
    jars_complete && return 0
    mkdir -p "$DEVSTACK_ROOT/kafka"
    # Shared by both profiles: serialise the fetch.
    local lockfd
    if command -v flock >/dev/null 2>&1; then
        exec {lockfd}>"$DEVSTACK_ROOT/kafka/.fetch.lock"
        flock -w 600 "$lockfd" || die "timed out waiting for another Kafka jar fetch"
        if jars_complete; then
            exec {lockfd}>&-
            return 0
        fi
    fi
    command -v mvn >/dev/null 2>&1 ||
        die "no 'mvn' on PATH: Maven is needed once to download the Kafka broker jars into $LIBS_DIR (Debian: apt-get install maven)"
    local mvnlog="$DEVSTACK_ROOT/kafka/mvn-fetch.log"
    log "fetching Kafka broker jars from Maven Central into $LIBS_DIR (once) ..."
    rm -rf "$LIBS_DIR"
    mkdir -p "$LIBS_DIR"
    if ! mvn -B -f "$KAFKA_POM" dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$LIBS_DIR" >"$mvnlog" 2>&1; then
        printf '%s\n' "--- last 30 lines of $mvnlog ---" >&2
        tail -n 30 "$mvnlog" >&2 || true
        die "Maven could not download the Kafka broker jars from Maven Central (offline?); see $mvnlog"
    fi
    compgen -G "$LIBS_DIR/kafka_2.13-*.jar" >/dev/null ||
        die "Maven finished but no kafka_2.13 jar is in $LIBS_DIR; see $mvnlog"
    pom_hash >"$LIBS_MARKER"
    log "fetched $(find "$LIBS_DIR" -name '*.jar' | wc -l) jars"
    if [[ -n "${lockfd:-}" ]]; then exec {lockfd}>&-; fi
}

write_kafka_config() {
    local parts
    if [[ "$PROFILE" == test ]]; then parts=5; else parts=10; fi
    mkdir -p "$KAFKA_DIR/data" "$KAFKA_DIR/logs"
    cat >"$(kafka_props)" <<EOF
# Written by scripts/devstack.sh (profile $PROFILE) on every start; edits are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CPORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CPORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
offsets.topic.replication.factor=1
offsets.topic.num.partitions=$parts
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=$parts
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
share.coordinator.state.topic.num.partitions=$parts
EOF
    cat >"$KAFKA_DIR/log4j2.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by scripts/devstack.sh: INFO to kafka/logs/server.log, WARN and above on the console. -->
<Configuration status="WARN">
  <Appenders>
    <Console name="Console" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
    <File name="ServerLog" fileName="${sys:kafka.logs.dir}/server.log" append="true">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </File>
  </Appenders>
  <Loggers>
    <Root level="INFO">
      <AppenderRef ref="Console" level="WARN"/>
      <AppenderRef ref="ServerLog"/>
    </Root>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="kafka.authorizer.logger" level="WARN"/>
    <Logger name="state.change.logger" level="WARN"/>
  </Loggers>
</Configuration>
EOF
}

kafka_java() { # java with our JVM flags and classpath; args = main class + args
    java -Xms512m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.xml" -Dkafka.logs.dir="$KAFKA_DIR/logs" \
        -cp "$LIBS_DIR/*" "$@"
}

format_kafka_storage() {
    [[ -f "$KAFKA_DIR/data/meta.properties" ]] && return 0
    local idfile="$KAFKA_DIR/cluster.id" cid out="$KAFKA_DIR/format.log"
    # A leading '-' would be read as an option by the storage tool: draw again until it does not start with one.
    if [[ ! -s "$idfile" ]] || [[ "$(cat "$idfile")" == -* ]]; then
        cid="$(random_b64url 16)"
        while [[ "$cid" == -* ]]; do cid="$(random_b64url 16)"; done
        printf '%s\n' "$cid" >"$idfile"
    fi
    cid="$(cat "$idfile")"
    log "formatting Kafka storage in $KAFKA_DIR/data (cluster id $cid)"
    if ! kafka_java kafka.tools.StorageTool format --standalone -t "$cid" -c "$(kafka_props)" >"$out" 2>&1; then
        tail -n 30 "$out" >&2 || true
        die "formatting Kafka storage failed; see $out"
    fi
}

kafka_log_tail() {
    printf '%s\n' "--- last 30 lines of $KAFKA_DIR/logs/server.log ---" >&2
    tail -n 30 "$KAFKA_DIR/logs/server.log" >&2 2>/dev/null || true
    if [[ -s "$KAFKA_DIR/kafka.out" ]]; then
        printf '%s\n' "--- last 30 lines of $KAFKA_DIR/kafka.out ---" >&2
        tail -n 30 "$KAFKA_DIR/kafka.out" >&2 || true
    fi
}

start_kafka() {
    local pid
    pid="$(kafka_running_pid)"
    if [[ -n "$pid" ]]; then
        log "kafka already running (pid $pid, 127.0.0.1:$(cat "$KAFKA_DIR/port" 2>/dev/null || echo "$KAFKA_PORT"))"
        return 0
    fi
    check_java
    fetch_jars
    require_free_port "$KAFKA_PORT" "Kafka"
    require_free_port "$KAFKA_CPORT" "the Kafka controller"
    write_kafka_config
    format_kafka_storage

    local server_log="$KAFKA_DIR/logs/server.log" offset=0 pidfile
    pidfile="$(kafka_pidfile)"
    [[ -f "$server_log" ]] && offset="$(wc -c <"$server_log")"
    rm -f "$pidfile"
    log "starting kafka on 127.0.0.1:$KAFKA_PORT (controller $KAFKA_CPORT)"
    # The wrapper writes its own pid, then execs java: the pid file holds the broker's pid.
    # shellcheck disable=SC2016
    setsid nohup bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" \
        java -Xms512m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.xml" -Dkafka.logs.dir="$KAFKA_DIR/logs" \
        -cp "$LIBS_DIR/*" kafka.Kafka "$(kafka_props)" \
        </dev/null >>"$KAFKA_DIR/kafka.out" 2>&1 9>&- &
    printf '%s\n' "$KAFKA_PORT" >"$KAFKA_DIR/port"

    local i deadline=$((SECONDS + KAFKA_READY_TIMEOUT))
    for ((i = 0; i < 50; i++)); do
        [[ -s "$pidfile" ]] && break
        sleep 0.1
    done
    pid="$(read_pid "$pidfile")"
    [[ -n "$pid" ]] || die "kafka did not write its pid file $pidfile"
    while :; do
        if ! pid_alive "$pid"; then
            rm -f "$pidfile"
            kafka_log_tail
            die "kafka (pid $pid) exited during startup"
        fi
        if port_accepts "$KAFKA_PORT" && [[ -f "$server_log" ]] &&
            tail -c "+$((offset + 1))" "$server_log" | awk '/Kafka Server started/ { f = 1 } END { exit !f }'; then
            break
        fi
        if ((SECONDS >= deadline)); then
            kafka_log_tail
            stop_pidfile "$pidfile" 10 "$(kafka_props)"
            die "kafka not ready after ${KAFKA_READY_TIMEOUT}s (port $KAFKA_PORT / 'Kafka Server started'); stopped it"
        fi
        sleep 0.25
    done
    log "kafka up (pid $pid, 127.0.0.1:$KAFKA_PORT)"
}

stop_kafka() {
    local pid
    pid="$(kafka_running_pid)"
    if [[ -n "$pid" ]]; then
        log "stopping kafka (pid $pid)"
        stop_pidfile "$(kafka_pidfile)" "$KAFKA_STOP_GRACE" "$(kafka_props)"
    fi
}

# --- PostgreSQL --------------------------------------------------------------------------------

as_pg() { # run a PostgreSQL server binary as the postgres user when we are root
    if is_root; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

check_pg_bins() {
    local b
    for b in initdb pg_ctl postgres psql; do
        [[ -x "$PG_BIN/$b" ]] ||
            die "PostgreSQL 15 binaries missing: no $PG_BIN/$b (Debian: apt-get install postgresql-15; or set INCIDENTS_DATABASE_URL to your own server, or INCIDENTS_DEVSTACK_PG_BIN)"
    done
    if is_root; then
        id -u postgres >/dev/null 2>&1 ||
            die "running as root but there is no 'postgres' user to own the cluster (initdb refuses root)"
        command -v runuser >/dev/null 2>&1 || die "running as root but 'runuser' is missing"
    fi
}

pg_running_pid() { # prints the postmaster pid if our cluster runs; removes a stale postmaster.pid
    local f="$PG_DATA/postmaster.pid" pid
    [[ -f "$f" ]] || return 0
    pid="$(read_pid "$f")"
    if [[ -n "$pid" ]] && pid_matches "$pid" "$PG_DATA"; then
        printf '%s\n' "$pid"
    else
        log "removing stale $f"
        rm -f "$f"
    fi
    return 0
}

# The postgres user must be able to enter every parent of the data dir. Dirs inside .devstack are
# fixed with chmod o+x; anything outside is reported.
ensure_pg_traversable() {
    is_root || return 0
    local d="$PG_DATA" dirs=()
    while [[ "$d" != / ]]; do
        d="$(dirname "$d")"
        dirs=("$d" "${dirs[@]}")
    done
    for d in "${dirs[@]}"; do # from / downwards: the first refusal names the culprit
        if ! runuser -u postgres -- test -x "$d" 2>/dev/null; then
            if [[ "$d" == "$DEVSTACK_ROOT" || "$d" == "$DEVSTACK_ROOT"/* ]]; then
                chmod o+x "$d"
            else
                die "the postgres user cannot enter $d (needed to reach $PG_DATA); fix: chmod o+x $d  (or set INCIDENTS_DATABASE_URL to your own server)"
            fi
        fi
    done
}

pg_locale() {
    if grep -qiE '^c\.utf-?8$' < <(locale -a 2>/dev/null); then
        printf 'C.UTF-8'
    else
        printf 'C'
    fi
}

init_pg_cluster() {
    if is_root; then
        install -d -m 755 "$PG_DIR"
        install -d -o postgres -m 700 "$PG_DATA"
        install -d -o postgres -m 755 "$PG_DIR/sock" "$PG_DIR/log"
    else
        install -d -m 700 "$PG_DATA"
        install -d -m 755 "$PG_DIR/sock" "$PG_DIR/log"
    fi
    ensure_pg_traversable
    [[ -f "$PG_DATA/PG_VERSION" ]] && return 0
    local loc out="$PG_DIR/initdb.log"
    loc="$(pg_locale)"
    log "initdb $PG_DATA (locale $loc)"
    if ! as_pg "$PG_BIN/initdb" -D "$PG_DATA" -A trust -U postgres --encoding=UTF8 --locale="$loc" >"$out" 2>&1; then
        tail -n 30 "$out" >&2 || true
        die "initdb failed; see $out"
    fi
}

pg_psql() { # runs SQL ($1) on database $2 as postgres over TCP; prints tuples only
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$2" -tA -c "$1"
}

start_pg() {
    check_pg_bins
    local pid
    pid="$(pg_running_pid)"
    if [[ -n "$pid" ]]; then
        [[ -f "$PG_DIR/port" ]] && PG_PORT="$(cat "$PG_DIR/port")"
        log "postgres already running (pid $pid, 127.0.0.1:$PG_PORT)"
    else
        require_free_port "$PG_PORT" "PostgreSQL"
        init_pg_cluster
        local opts="-p $PG_PORT -k '$PG_DIR/sock' -c listen_addresses=127.0.0.1"
        if [[ "$PROFILE" == test ]]; then
            opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        fi
        # Extra server options, e.g. "-c shared_preload_libraries=pg_stat_statements" for a profile of the
        # statements (bench/profiles/postgres.md).
        opts+="${INCIDENTS_DEVSTACK_PG_OPTIONS:+ $INCIDENTS_DEVSTACK_PG_OPTIONS}"
        local pglog="$PG_DIR/log/postgres.log" offset=0
        [[ -f "$pglog" ]] && offset="$(wc -c <"$pglog")"
        log "starting postgres on 127.0.0.1:$PG_PORT"
        if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -o "$opts" -l "$pglog" -w -t 60 start >"$PG_DIR/pg_ctl.out" 2>&1 9>&-; then
            printf '%s\n' "--- $pglog (this start) ---" >&2
            tail -c "+$((offset + 1))" "$pglog" 2>/dev/null | tail -n 30 >&2 || true
            tail -n 5 "$PG_DIR/pg_ctl.out" >&2 || true
            die "postgres did not start on port $PG_PORT; see $pglog"
        fi
        printf '%s\n' "$PG_PORT" >"$PG_DIR/port"
        pid="$(pg_running_pid)"
        log "postgres up (pid $pid, 127.0.0.1:$PG_PORT)"
    fi
    # Role and database (idempotent).
    if [[ "$(pg_psql "SELECT 1 FROM pg_roles WHERE rolname = '$DB_ROLE'" postgres)" != 1 ]]; then
        pg_psql "CREATE ROLE $DB_ROLE LOGIN" postgres
        log "created role $DB_ROLE"
    fi
    if [[ "$(pg_psql "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'" postgres)" != 1 ]]; then
        pg_psql "CREATE DATABASE $DB_NAME OWNER $DB_ROLE ENCODING 'UTF8' TEMPLATE template0" postgres
        log "created database $DB_NAME"
    fi
}

stop_pg() {
    local pid
    pid="$(pg_running_pid)"
    [[ -n "$pid" ]] || return 0
    log "stopping postgres (pid $pid)"
    [[ -x "$PG_BIN/pg_ctl" ]] || die "postgres (pid $pid) runs but $PG_BIN/pg_ctl is missing; cannot stop it cleanly"
    if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null 2>&1; then
        log "pg_ctl -m fast stop failed; trying immediate"
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
            die "could not stop postgres (pid $pid)"
    fi
}

# --- env / tokens ------------------------------------------------------------------------------

env_quote() { # bare when safe, else single-quoted for sh
    if [[ "$1" =~ ^[A-Za-z0-9_./:@%+,=-]*$ ]]; then
        printf '%s' "$1"
    else
        printf "'%s'" "${1//\'/\'\\\'\'}"
    fi
}

write_tokens() {
    local f="$STATE/tokens.json"
    if [[ -s "$f" ]]; then
        chmod 600 "$f"
        return 0
    fi
    local tmp="$f.tmp.$$" role sep="" json="{"
    for role in "${TOKEN_ROLES[@]}"; do
        json+="$sep\"$role\": \"dev-$role-$(random_b64url 24)\""
        sep=", "
    done
    json+="}"
    (
        umask 077
        printf '%s\n' "$json" >"$tmp"
    )
    chmod 600 "$tmp"
    mv -f "$tmp" "$f"
    log "wrote $f"
}

write_env() { # $1 = kafka bootstrap, $2 = database url
    local f="$STATE/env" tmp
    tmp="$f.tmp.$$"
    {
        printf '# written by scripts/devstack.sh --profile %s start\n' "$PROFILE"
        printf 'INCIDENTS_KAFKA_BOOTSTRAP=%s\n' "$(env_quote "$1")"
        printf 'INCIDENTS_DATABASE_URL=%s\n' "$(env_quote "$2")"
        printf 'INCIDENTS_TOKENS_FILE=%s\n' "$(env_quote "$STATE/tokens.json")"
    } >"$tmp"
    mv -f "$tmp" "$f"
}

env_file_value() { # $1 = key; prints the raw value from <state>/env
    [[ -f "$STATE/env" ]] || return 0
    local v
    v="$(sed -n "s/^$1=//p" "$STATE/env" | head -n1)"
    if [[ "$v" == \'*\' && ${#v} -ge 2 ]]; then
        v="${v:1:${#v}-2}"
        v="${v//\'\\\'\'/\'}"
    fi
    printf '%s' "$v"
}

redact_url() { # hide a password in scheme://user:password@host/...
    sed -E 's#(//[^:/@]*):[^@/]*@#\1:***@#' <<<"$1"
}

# --- subcommands -------------------------------------------------------------------------------

cmd_start() {
    take_lock
    mkdir -p "$RUN_DIR"
    local bootstrap dburl
    if external_kafka; then
        bootstrap="$INCIDENTS_KAFKA_BOOTSTRAP"
        log "INCIDENTS_KAFKA_BOOTSTRAP is set: using your Kafka at $bootstrap (local broker not started)"
    else
        start_kafka
        [[ -f "$KAFKA_DIR/port" ]] && KAFKA_PORT="$(cat "$KAFKA_DIR/port")"
        bootstrap="$(local_bootstrap)"
    fi
    if external_db; then
        dburl="$INCIDENTS_DATABASE_URL"
        log "INCIDENTS_DATABASE_URL is set: using your PostgreSQL (local server not started)"
    else
        start_pg
        dburl="$(local_db_url)"
    fi
    write_tokens
    write_env "$bootstrap" "$dburl"
    log "env file: $STATE/env"
}

cmd_stop() {
    take_lock
    local f
    if [[ -d "$RUN_DIR" ]]; then
        for f in "$RUN_DIR"/*.pid; do
            [[ -e "$f" ]] || continue
            if pid_alive "$(read_pid "$f")"; then log "stopping $(basename "$f" .pid)"; fi
            stop_pidfile "$f" "$SERVICE_STOP_GRACE"
        done
    fi
    stop_kafka
    stop_pg
    log "stopped"
}

cmd_status() {
    local rc=0 pid ext port f name
    pid="$(kafka_running_pid)"
    if [[ -n "$pid" ]]; then
        port="$(cat "$KAFKA_DIR/port" 2>/dev/null || echo "$KAFKA_PORT")"
        echo "kafka: up (pid $pid, 127.0.0.1:$port)"
    else
        ext="${INCIDENTS_KAFKA_BOOTSTRAP:-$(env_file_value INCIDENTS_KAFKA_BOOTSTRAP)}"
        if [[ -n "$ext" && "$ext" != "$(local_bootstrap)" ]]; then
            echo "kafka: external ($ext)"
        else
            echo "kafka: down"
            rc=3
        fi
    fi
    pid=""
    [[ -d "$PG_DATA" ]] && pid="$(pg_running_pid 2>/dev/null)"
    if [[ -n "$pid" ]]; then
        port="$(cat "$PG_DIR/port" 2>/dev/null || echo "$PG_PORT")"
        echo "postgres: up (pid $pid, 127.0.0.1:$port)"
    else
        ext="${INCIDENTS_DATABASE_URL:-$(env_file_value INCIDENTS_DATABASE_URL)}"
        if [[ -n "$ext" && "$ext" != "$(local_db_url)" ]]; then
            echo "postgres: external ($(redact_url "$ext"))"
        else
            echo "postgres: down"
            rc=3
        fi
    fi
    if [[ -d "$RUN_DIR" ]]; then
        for f in "$RUN_DIR"/*.pid; do
            [[ -e "$f" ]] || continue
            name="$(basename "$f" .pid)"
            pid="$(read_pid "$f")"
            if [[ -n "$pid" ]] && pid_alive "$pid"; then
                echo "$name: up (pid $pid)"
            else
                echo "$name: down"
            fi
        done
    fi
    return "$rc"
}

cmd_env() {
    [[ -f "$STATE/env" ]] || die "no $STATE/env yet; run: scripts/devstack.sh --profile $PROFILE start"
    cat "$STATE/env"
}

cmd_wipe() {
    cmd_stop
    log "wiping $PROFILE data (jars and tokens.json kept)"
    rm -rf "$KAFKA_DIR/data" "$KAFKA_DIR/logs" "$KAFKA_DIR/cluster.id" "$KAFKA_DIR/kafka.out" \
        "$KAFKA_DIR/format.log" "$KAFKA_DIR/port" "$KAFKA_DIR/server.properties" "$KAFKA_DIR/log4j2.xml" \
        "$PG_DIR" "$RUN_DIR" "$STATE/env"
}

main() {
    local cmd=""
    while (($#)); do
        case "$1" in
            --profile)
                (($# >= 2)) || die "--profile needs a value (dev or test)"
                PROFILE=$2
                shift 2
                ;;
            --profile=*)
                PROFILE=${1#--profile=}
                shift
                ;;
            -h | --help | help)
                usage
                return 0
                ;;
            start | stop | status | env | wipe)
                [[ -z "$cmd" ]] || die "only one subcommand at a time"
                cmd=$1
                shift
                ;;
            *)
                usage >&2
                die "unknown argument '$1'"
                ;;
        esac
    done
    [[ -n "$cmd" ]] || {
        usage >&2
        exit 2
    }
    setup_profile
    case "$cmd" in
        start) cmd_start ;;
        stop) cmd_stop ;;
        status) cmd_status ;;
        env) cmd_env ;;
        wipe) cmd_wipe ;;
    esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    main "$@"
fi
