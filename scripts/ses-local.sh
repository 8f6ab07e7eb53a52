#!/usr/bin/env bash
# Starts and stops the local SES (npm aws-ses-v2-local, in memory), one per NAME.
#
#   scripts/ses-local.sh start [NAME] [PORT]   prints http://127.0.0.1:PORT
#   scripts/ses-local.sh stop  [NAME]
#   scripts/ses-local.sh status [NAME]         prints the URL, or exits 1
#
# NAME (default "default") keeps `make test` and `make dev` apart: each has its
# pidfile .local/run/ses-NAME.pid, .port and .log. Without PORT a free port is
# chosen. `start` of a NAME that is already running prints its URL again.
#
# It answers the SES v1 (POST /) and v2 (/v2/email/...) APIs on 127.0.0.1 only,
# keeps every message in memory and shows them on its page (GET /); GET /store
# returns them as JSON (?since=EPOCH_SECONDS), POST /clear-store forgets them.
# It never forwards a message: SMTP_TRANSPORT is removed from its environment.
set -euo pipefail
LOG_TAG=ses-local
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
  sed -n '2,6s/^# \{0,1\}//p' "$0" >&2
  exit 2
}

SES_CLI="$LOCAL/ses/node_modules/aws-ses-v2-local/dist/cli.js"

# The pid in PIDFILE, if it is alive and still the local SES.
live_pid() {
  local pidfile=$1 pid
  [ -f "$pidfile" ] || return 1
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'aws-ses-v2-local/dist/cli.js' || return 1
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
pidfile="$RUN_DIR/ses-$name.pid"
portfile="$RUN_DIR/ses-$name.port"
logfile="$RUN_DIR/ses-$name.log"

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
    command -v node >/dev/null 2>&1 || die "node not found; install Node.js"
    [ -f "$SES_CLI" ] || die "aws-ses-v2-local not found under .local/ses; run scripts/bootstrap.sh"
    rm -f "$pidfile" "$portfile"
    : >"$logfile"
    spawn_detached "$pidfile" "$logfile" "$LOCAL/ses" \
      env -u SMTP_TRANSPORT -u AWS_SES_ACCOUNT node "$SES_CLI" --host 127.0.0.1 --port "$port"
    url="http://127.0.0.1:$port"
    deadline=$((SECONDS + ${SES_LOCAL_START_TIMEOUT:-30}))
    while :; do
      code="$(http_status GET "$url/health-check" --max-time 2)"
      if [ "$code" = 200 ] && live_pid "$pidfile" >/dev/null; then break; fi
      if ((SECONDS >= deadline)); then
        log "the local SES did not answer on $url; its log:"
        tail -n 30 "$logfile" >&2 || true
        stop_tree "$pidfile" 5
        exit 1
      fi
      if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        log "the local SES exited; its log:"
        tail -n 30 "$logfile" >&2 || true
        rm -f "$pidfile"
        exit 1
      fi
      sleep 0.2
    done
    echo "$port" >"$portfile"
    log "'$name' listening on $url (pid $(cat "$pidfile"), log $logfile)"
    echo "$url"
    ;;
  stop)
    if pid="$(live_pid "$pidfile")"; then
      stop_tree "$pidfile" 5
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
