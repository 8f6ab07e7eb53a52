# shellcheck shell=bash
# Helpers shared by scripts/test.sh and scripts/dev.sh. Source it; don't run it.
#
#   ROOT     the repository root
#   LOCAL    $ROOT/.local (tools, never committed)
#   RUN_DIR  $ROOT/.local/run (pidfiles, ports, logs)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$ROOT/.local"
RUN_DIR="$LOCAL/run"
VENV_BIN="$LOCAL/venv/bin"
mkdir -p "$RUN_DIR"

# The five functions, named as their packages and binaries.
# shellcheck disable=SC2034 # used by the scripts that source this file
PORTGUARD_FUNCTIONS=(set-pin submit-port-out carrier-webhook status-check notifier)

log() { printf '[%s] %s\n' "${LOG_TAG:-portguard}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Development and test configuration. These values are public and fixed on
# purpose: they protect nothing and make failures reproducible. Never use them
# outside DynamoDB Local.
#   PIN_PEPPER               50 bytes
#   CARRIER_WEBHOOK_SECRETS  whsec_ + base64 of 32 bytes (sha256 of
#                            "portguard-dev-webhook-<carrier id>")
export_dev_env() {
  export AWS_ACCESS_KEY_ID=local
  export AWS_SECRET_ACCESS_KEY=local
  export AWS_REGION=us-east-1
  export AWS_DEFAULT_REGION=us-east-1
  # Never let a developer's real profile or session token leak into local runs.
  unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL
  export AWS_EC2_METADATA_DISABLED=true
  export PIN_PEPPER='portguard-dev-pepper-NOT-A-SECRET-0123456789abcdef'
  export CARRIER_WEBHOOK_SECRETS='{"carrier-a":"whsec_P+qNlujjtcnMcCsFngZBMUcGeJfmY+seaB9YtldVo4Y=","carrier-b":"whsec_w0dAXhXr0Ng3axqGuVxw5LbMY4bj/t80VQ9vuaKQOJc="}'
  # The master key of notification endpoints' signing secrets (contract §14):
  # set-pin, the notifier and the CLI derive the same secrets from it.
  export ENDPOINT_SECRET_KEY='portguard-dev-endpoint-secret-key-NOT-A-SECRET'
  export BANDWIDTH_CREDENTIALS='{"username":"bandwidth","password":"portguard-dev-bandwidth-NOT-A-SECRET"}'
  # Telnyx (contract §16): the development key pair (NOT A SECRET: the private
  # half signs only local sample events, shared/fixtures/src/lib.rs) and the
  # stand-in's Bearer key.
  export TELNYX_PUBLIC_KEY='5dxAyNzquTRCpd2fWMVeZMQlwgRUTYrehy8+BkyyJUo='
  export TELNYX_PRIVATE_KEY='jSVPTiahj7hDawGANO2gmKNkHG8YPNiOL3Ku/dBLhZ4='
  export TELNYX_API_KEY='portguard-dev-telnyx-api-key-NOT-A-SECRET'
  # Never Telnyx's real API from a development machine: the stand-in (make dev).
  export TELNYX_API_BASE_URL='http://127.0.0.1:4011/v2'
  # Alert emails (contract §17): sent from this address to the local SES
  # (scripts/ses-local.sh, AWS_ENDPOINT_URL_SESV2), linking to make dev's
  # console. Kept when already set.
  export ALERT_FROM_ADDRESS="${ALERT_FROM_ADDRESS:-alerts@portguard.localhost}"
  export CONSOLE_URL="${CONSOLE_URL:-http://127.0.0.1:${PORTGUARD_LOCAL_API_PORT:-3000}/}"
  # The functions must not reach for Secrets Manager locally.
  unset PIN_PEPPER_SECRET_ARN CARRIER_WEBHOOK_SECRETS_ARN BANDWIDTH_CREDENTIALS_ARN TELNYX_API_KEY_ARN ENDPOINT_SECRET_KEY_ARN
}

# Puts cargo-lambda (and zig) on PATH.
use_venv() {
  [ -x "$VENV_BIN/cargo-lambda" ] || die "cargo-lambda missing; run scripts/bootstrap.sh"
  case ":$PATH:" in *":$VENV_BIN:"*) ;; *) export PATH="$VENV_BIN:$PATH" ;; esac
}

# port_is_free PORT: nothing listens on PORT on any interface (DynamoDB Local
# cannot be told to bind loopback only, so check the wildcard address).
port_is_free() {
  python3 - "$1" <<'PY' 2>/dev/null
import socket, sys
port = int(sys.argv[1])
for family, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
    try:
        s = socket.socket(family, socket.SOCK_STREAM)
    except OSError:
        continue
    try:
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((addr, port))
    except OSError as e:
        if family == socket.AF_INET6 and e.errno in (97, 99):  # no IPv6 here
            continue
        sys.exit(1)
    finally:
        s.close()
PY
}

# shellcheck disable=SC2120 # FROM is optional
# free_port [FROM]: with FROM, the first free port from FROM upwards; without,
# a free port chosen by the kernel.
free_port() {
  local p
  if [ $# -gt 0 ]; then
    for ((p = $1; p < $1 + 100; p++)); do
      if port_is_free "$p"; then echo "$p"; return 0; fi
    done
    die "no free port in $1..$(($1 + 99))"
  fi
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    p="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
    if port_is_free "$p"; then echo "$p"; return 0; fi
  done
  die "could not find a free port"
}

# http_status METHOD URL [curl args...]: the HTTP status, or 000 when nothing answered.
http_status() {
  local method=$1 url=$2
  shift 2
  curl -s -o /dev/null -w '%{http_code}' -X "$method" "$@" "$url" 2>/dev/null || true
}

# wait_for_http SECONDS URL [METHOD]: until METHOD (default POST) to URL gets
# any HTTP status.
wait_for_http() {
  local deadline=$((SECONDS + $1)) url=$2 method=${3:-POST} code
  while ((SECONDS < deadline)); do
    code="$(http_status "$method" "$url" --max-time 2 -d '{}')"
    [ "$code" != 000 ] && [ -n "$code" ] && return 0
    sleep 0.3
  done
  return 1
}

# descendants PID: PID's descendants, deepest last (by parent PID, no names).
descendants() {
  local child
  for child in $(pgrep -P "$1" 2>/dev/null || true); do
    echo "$child"
    descendants "$child"
  done
}

# stop_tree PIDFILE [GRACE]: stops the process in PIDFILE and everything it
# started: SIGINT first (cargo lambda watch then shuts its functions down),
# SIGTERM and finally SIGKILL for whatever is left after GRACE seconds.
stop_tree() {
  local pidfile=$1 grace=${2:-10} pid pids p
  [ -f "$pidfile" ] || return 0
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  rm -f "$pidfile"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  pids="$pid $(descendants "$pid" | tr '\n' ' ')"
  kill -INT "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  # Anything of ours still alive (including function instances watchexec put in
  # their own process groups) gets TERM, then KILL.
  for p in $pids $(descendants "$pid" | tr '\n' ' '); do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
  return 0
}

# spawn_detached PIDFILE LOGFILE DIR CMD...: starts CMD in DIR in its own
# session (so a terminal's Ctrl-C reaches only its owner, who stops it with
# stop_tree), stdout and stderr appended to LOGFILE; its pid goes to PIDFILE
# before this returns.
spawn_detached() {
  local pidfile=$1 logfile=$2 dir=$3
  shift 3
  rm -f "$pidfile"
  # shellcheck disable=SC2016 # $$, $0 and $@ belong to the inner shell
  (cd "$dir" && exec setsid bash -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' "$pidfile" "$@" \
    </dev/null >>"$logfile" 2>&1) &
  for _ in $(seq 50); do
    [ -s "$pidfile" ] && return 0
    sleep 0.1
  done
  die "could not start $1"
}

# with_timeout SECONDS CMD...: CMD under `timeout` (which gives it its own
# process group and kills the whole group when time is up). CMD runs in the
# background while the shell waits, so INT/TERM traps run at once: they call
# stop_child, which hands the signal on to CMD's group.
CHILD_PID=
with_timeout() {
  local secs=$1 rc=0
  shift
  timeout -k 30 "$secs" "$@" &
  CHILD_PID=$!
  wait "$CHILD_PID" || rc=$?
  CHILD_PID=
  if ((rc == 124)); then log "timed out after ${secs}s: $*"; fi
  return "$rc"
}

# stop_child: for INT/TERM traps; stops the command with_timeout is running.
stop_child() {
  if [ -n "${CHILD_PID:-}" ]; then
    kill -TERM "$CHILD_PID" 2>/dev/null || true
    wait "$CHILD_PID" 2>/dev/null || true
    CHILD_PID=
  fi
}

# warm_watch URL PIDFILE LOG: POSTs {} to each function's invoke endpoint under
# the `cargo lambda watch` on URL (its pid in PIDFILE, its output in LOG) until
# it answers with any HTTP status. Watch starts a function's binary on its
# first invocation (compiling it if needed), hence the long limit
# (PORTGUARD_WATCH_START_TIMEOUT seconds, default 900). {} is not a valid
# event: the function answers with an error and touches nothing.
warm_watch() {
  local url=$1 pidfile=$2 watch_log=$3 fn code deadline
  deadline=$((SECONDS + ${PORTGUARD_WATCH_START_TIMEOUT:-900}))
  for fn in "${PORTGUARD_FUNCTIONS[@]}"; do
    while :; do
      kill -0 "$(cat "$pidfile" 2>/dev/null || echo 0)" 2>/dev/null \
        || { log "cargo lambda watch exited; see $watch_log"; tail -n 40 "$watch_log" >&2; return 1; }
      ((SECONDS < deadline)) || { log "timed out waiting for $fn; see $watch_log"; tail -n 40 "$watch_log" >&2; return 1; }
      # Short attempts keep Ctrl-C prompt; an abandoned attempt only leaves
      # one more {} in the function's queue.
      code="$(http_status POST "$url/2015-03-31/functions/$fn/invocations" \
        --max-time 20 -H 'Content-Type: application/json' -d '{}')"
      if [ "$code" != 000 ] && [ -n "$code" ]; then
        log "$fn answers (HTTP $code)"
        break
      fi
      sleep 1
    done
  done
}

# ensure_dev_jwt_key PATH: the development signing key of portguard-local-api
# (HS256, 32 random bytes as hex), created when missing. Trusted only by the
# local API on loopback.
ensure_dev_jwt_key() {
  local key=$1
  if [ ! -s "$key" ]; then
    mkdir -p "$(dirname "$key")"
    (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$key.tmp" && mv "$key.tmp" "$key")
  fi
}

# seed_demo_tenants: the demo tenants of `make dev` in $TABLE_NAME (the
# console's development sign-in offers them). Idempotent.
#   t-100  ACC-1001  US  "Demo Tenant"        +12065550100..102
#   t-200  ACC-2001  GB  "Demo Tenant (GB)"   +12065550200  (not eligible for a PIN)
seed_demo_tenants() {
  local admin=(cargo run -q --bin portguard-admin --)
  "${admin[@]}" tenant put --tenant-id t-100 --account-number ACC-1001 --country US --name "Demo Tenant" >/dev/null &&
    "${admin[@]}" numbers add --tenant-id t-100 +12065550100 +12065550101 +12065550102 >/dev/null &&
    "${admin[@]}" tenant put --tenant-id t-200 --account-number ACC-2001 --country GB --name "Demo Tenant (GB)" >/dev/null &&
    "${admin[@]}" numbers add --tenant-id t-200 +12065550200 >/dev/null
}
