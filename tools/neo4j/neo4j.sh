#!/usr/bin/env bash
# A real Neo4j 5.26 Community server for Threadline's tests, on 127.0.0.1 only.
#
#   tools/neo4j/neo4j.sh build    compile the launcher, copy the Neo4j jars (Maven Central)
#   tools/neo4j/neo4j.sh start    build if needed, start on a fresh database, wait for Bolt,
#                                 print export lines:  eval "$(tools/neo4j/neo4j.sh start)"
#   tools/neo4j/neo4j.sh stop     stop it (SIGTERM, SIGKILL after NEO4J_STOP_TIMEOUT); safe if stopped
#   tools/neo4j/neo4j.sh status   exit 0 and say where it listens if running, exit 3 if not
#
# Environment (all optional):
#   NEO4J_PASSWORD       password of the user neo4j; a random one is made (and printed in the
#                        export lines) when unset. Never written to a file or a command line:
#                        the JVM and the readiness check get it through the environment.
#   NEO4J_PORT           Bolt port; a free one is picked when unset
#   NEO4J_KEEP_DATA=1    reuse the database of the last run instead of starting empty
#                        (same as `start --keep-data`)
#   NEO4J_HEAP           JVM maximum heap, default 1g
#   NEO4J_START_TIMEOUT  seconds to wait for Bolt, default 180
#   NEO4J_STOP_TIMEOUT   seconds to wait for a clean stop before SIGKILL, default 60
#   NEO4J_JAVA           java binary, default: java on PATH (Neo4j 5.26 runs on Java 17 or 21)
#   NEO4J_PYTHON         python for the readiness check, default: the repo's .venv, else python3
#
# Everything the server writes (pid, port, JVM log, database and Neo4j's own logs under
# home/logs/) lives in tools/neo4j/run/, which git ignores.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
RUN="$HERE/run"
TARGET="$HERE/target"
PID_FILE="$RUN/neo4j.pid"
PORT_FILE="$RUN/neo4j.port"
LOG_FILE="$RUN/neo4j.log"
HOME_DIR="$RUN/home"
MAIN_CLASS="threadline.neo4j.Launcher"

say() { echo "neo4j.sh: $*" >&2; }
die() { say "$*"; exit 1; }

python_bin() {
    if [[ -n "${NEO4J_PYTHON:-}" ]]; then
        echo "$NEO4J_PYTHON"
    elif [[ -x "$REPO/.venv/bin/python" ]]; then
        echo "$REPO/.venv/bin/python"
    else
        echo python3
    fi
}

# The pid of our running launcher, or nothing. A stale pid file (or a pid reused by
# another program) counts as not running.
running_pid() {
    [[ -f "$PID_FILE" ]] || return 0
    local pid
    pid="$(cat "$PID_FILE")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 0
    if [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$MAIN_CLASS"; then
        echo "$pid"
    fi
}

needs_build() {
    [[ -f "$TARGET/.built" && -d "$TARGET/lib" ]] || return 0
    [[ -n "$(find "$HERE/pom.xml" "$HERE/src" -newer "$TARGET/.built" -print -quit)" ]]
}

cmd_build() {
    command -v mvn >/dev/null || die "mvn not found; install Maven 3.8+ (apt-get install maven)"
    mkdir -p "$RUN"
    rm -rf "$TARGET/lib" "$TARGET/.built"
    say "building the launcher and fetching Neo4j jars (log: run/build.log)"
    local started=$SECONDS
    if ! mvn -B -q --no-transfer-progress -f "$HERE/pom.xml" package >"$RUN/build.log" 2>&1; then
        tail -n 40 "$RUN/build.log" >&2
        die "build failed; full log in $RUN/build.log"
    fi
    touch "$TARGET/.built"
    say "built in $((SECONDS - started))s"
}

free_port() {
    "$(python_bin)" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

cmd_start() {
    local keep="${NEO4J_KEEP_DATA:-0}"
    case "${1:-}" in
        --keep-data) keep=1 ;;
        "") ;;
        *) die "unknown option for start: $1 (known: --keep-data)" ;;
    esac
    local pid
    pid="$(running_pid)"
    [[ -z "$pid" ]] || die "already running (pid $pid, port $(cat "$PORT_FILE" 2>/dev/null)); run '$0 stop' first"
    if needs_build; then cmd_build; fi

    local generated=0
    if [[ -z "${NEO4J_PASSWORD:-}" ]]; then
        NEO4J_PASSWORD="$(LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32 || true)"
        generated=1
    fi
    export NEO4J_PASSWORD
    export NEO4J_USER="${NEO4J_USER:-neo4j}"
    [[ "$NEO4J_USER" == neo4j ]] || die "NEO4J_USER must be neo4j for this server (got $NEO4J_USER)"

    mkdir -p "$RUN"
    if [[ "$keep" != 1 ]]; then rm -rf "$HOME_DIR"; fi
    rm -f "$PID_FILE" "$PORT_FILE"

    local java="${NEO4J_JAVA:-java}" port="${NEO4J_PORT:-}" tries=1
    [[ -n "$port" ]] || tries=3   # a picked port can be taken before the JVM binds it
    local started=$SECONDS attempt
    for ((attempt = 1; attempt <= tries; attempt++)); do
        [[ -n "${NEO4J_PORT:-}" ]] || port="$(free_port)"
        say "starting Neo4j on 127.0.0.1:$port (log: run/neo4j.log)"
        # setsid: the server outlives the calling shell and its Ctrl-C. All output goes to
        # the log so that "$(neo4j.sh start)" does not wait for the JVM's stdout to close.
        setsid "$java" -Xms256m -Xmx"${NEO4J_HEAP:-1g}" -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError \
            -Djava.net.preferIPv4Stack=true \
            --add-opens=java.base/java.nio=ALL-UNNAMED \
            --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
            -Dio.netty.tryReflectionSetAccessible=true \
            -cp "$TARGET/classes:$TARGET/lib/*" "$MAIN_CLASS" "$HOME_DIR" "$port" \
            >"$LOG_FILE" 2>&1 </dev/null &
        pid=$!
        echo "$pid" >"$PID_FILE"
        echo "$port" >"$PORT_FILE"
        if "$(python_bin)" "$HERE/check.py" 127.0.0.1 "$port" \
            --timeout "${NEO4J_START_TIMEOUT:-180}" --pid "$pid"; then
            say "ready in $((SECONDS - started))s (pid $pid)"
            echo "export NEO4J_URI=bolt://127.0.0.1:$port"
            echo "export NEO4J_USER=$NEO4J_USER"
            if [[ "$generated" == 1 ]]; then echo "export NEO4J_PASSWORD=$NEO4J_PASSWORD"; fi
            return 0
        fi
        cmd_stop 2>/dev/null || true
        if ((attempt < tries)) && grep -qiE 'BindException|already in use' "$LOG_FILE"; then
            say "port $port was taken; trying another"
            continue
        fi
        break
    done
    tail -n 30 "$LOG_FILE" >&2 || true
    die "Neo4j did not become ready; see $LOG_FILE and $HOME_DIR/logs/debug.log"
}

cmd_stop() {
    local pid
    pid="$(running_pid)"
    if [[ -z "$pid" ]]; then
        rm -f "$PID_FILE" "$PORT_FILE"
        say "not running"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    local waited=0 limit="${NEO4J_STOP_TIMEOUT:-60}"
    while kill -0 "$pid" 2>/dev/null && ((waited < limit * 10)); do
        sleep 0.1
        waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "pid $pid still running after ${limit}s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
        while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
    rm -f "$PID_FILE" "$PORT_FILE"
    say "stopped (pid $pid)"
}

cmd_status() {
    local pid
    pid="$(running_pid)"
    if [[ -z "$pid" ]]; then
        echo "not running"
        return 3
    fi
    local port
    port="$(cat "$PORT_FILE")"
    echo "running: pid $pid, bolt://127.0.0.1:$port"
    "$(python_bin)" "$HERE/check.py" 127.0.0.1 "$port" --pid "$pid"
}

case "${1:-}" in
    build) cmd_build ;;
    start) shift; cmd_start "$@" ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *)
        echo "usage: $0 build | start [--keep-data] | stop | status" >&2
        exit 2
        ;;
esac
