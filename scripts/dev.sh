#!/usr/bin/env bash
# `make dev`: DynamoDB Local (port 8000, or the first free one above), the table
# and two demo tenants, the five functions under `cargo lambda watch` on
# port 9000 (or the first free one above), reloading as you edit, and in front
# of them the development HTTP API with the console on http://127.0.0.1:3000
# (PORTGUARD_LOCAL_API_PORT; portguard-local-api, never deployed). The notifier
# may send to loopback (NOTIFY_ALLOW_LOOPBACK_HTTP=true); scripts/notify-dev.py
# is a receiver and feeds it the table's stream. Alert emails go to the local
# SES (scripts/ses-local.sh, port 8005 or the first free one above), whose page
# shows every message sent. A stand-in for Telnyx's API (cli/telnyx-stand-in,
# on 127.0.0.1:4011 or the first free port above) records the rejects
# submit-port-out and the notifier send it (TELNYX_API_BASE_URL).
# Every function binary is built (`cargo build --bins`) and started under watch
# (one invalid {} invocation each) before the ready banner, so the first
# request does not wait for a compile. Watch's output follows the banner (and
# stays in .local/run/watch-dev.log). Ctrl-C stops all of them.
#
#   t-100  ACC-1001  US  "Demo Tenant"        +12065550100..102
#   t-200  ACC-2001  GB  "Demo Tenant (GB)"   +12065550200  (not eligible for a PIN)
set -euo pipefail
LOG_TAG=dev
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

DDB_NAME=dev
SES_NAME=dev
LOCAL_API_PIDFILE="$RUN_DIR/local-api-dev.pid"
LOCAL_API_LOG="$RUN_DIR/local-api-dev.log"
DEV_KEY="$LOCAL/dev-jwt.key"
TELNYX_PIDFILE="$RUN_DIR/telnyx-stand-in-dev.pid"
TELNYX_LOG="$RUN_DIR/telnyx-stand-in-dev.log"
WATCH_PIDFILE="$RUN_DIR/watch-dev.pid"
WATCH_LOG="$RUN_DIR/watch-dev.log"
TAIL_PID=
BIN_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/debug"

# shellcheck disable=SC2317 # invoked by the traps
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  stop_tree "$LOCAL_API_PIDFILE" 5
  stop_tree "$WATCH_PIDFILE" 10
  if [ -n "$TAIL_PID" ]; then kill "$TAIL_PID" 2>/dev/null; fi
  stop_tree "$TELNYX_PIDFILE" 5
  "$ROOT/scripts/dynamodb-local.sh" stop "$DDB_NAME" >/dev/null 2>&1
  "$ROOT/scripts/ses-local.sh" stop "$SES_NAME" >/dev/null 2>&1
  log "stopped"
  exit "$rc"
}

"$ROOT/scripts/bootstrap.sh"
use_venv
export_dev_env
export TABLE_NAME=portguard-dev
# Development only: notification endpoints may be http://127.0.0.1 / localhost.
export NOTIFY_ALLOW_LOOPBACK_HTTP=true

# Every binary first, the functions included (the first time takes minutes),
# before anything is started: a compile error stops here, and watch later
# starts each function at once.
# Watch runs `cargo run --bin NAME` with no package flag, so features are
# unified over the workspace's default members; built the same way here (no
# -p), nothing is compiled twice. The local API and the Telnyx stand-in are
# default members: this builds them too.
log "building every binary (cargo build --bins)"
build_started=$SECONDS
cargo build --bins
log "built in $((SECONDS - build_started))s"

# A fresh in-memory database each time: stop one a killed session left behind.
"$ROOT/scripts/dynamodb-local.sh" stop "$DDB_NAME" >/dev/null 2>&1 || true
"$ROOT/scripts/ses-local.sh" stop "$SES_NAME" >/dev/null 2>&1 || true
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
AWS_ENDPOINT_URL_DYNAMODB="$("$ROOT/scripts/dynamodb-local.sh" start "$DDB_NAME" "$(free_port 8000)")"
export AWS_ENDPOINT_URL_DYNAMODB
# The local SES: the functions (cargo lambda watch inherits this) send alert
# emails from ALERT_FROM_ADDRESS there.
AWS_ENDPOINT_URL_SESV2="$("$ROOT/scripts/ses-local.sh" start "$SES_NAME" "$(free_port 8005)")"
export AWS_ENDPOINT_URL_SESV2

# `--bin`, not `-p`: with a package flag cargo unifies features over that
# package alone and compiles the SDK a second time (minutes on a fresh clone).
admin() { cargo run -q --bin portguard-admin -- "$@"; }
log "creating table $TABLE_NAME and demo tenants"
admin create-table
seed_demo_tenants

WATCH_PORT="$(free_port 9000)"
WATCH_URL="http://127.0.0.1:$WATCH_PORT"

# The development signing key (random, once) and the local API in front of watch.
ensure_dev_jwt_key "$DEV_KEY"
# The local API on 3000 or the first free port above (PORTGUARD_LOCAL_API_PORT
# pins it); chosen just before it starts.
if [ -n "${PORTGUARD_LOCAL_API_PORT:-}" ]; then
  API_PORT=$PORTGUARD_LOCAL_API_PORT
  port_is_free "$API_PORT" || die "port $API_PORT is taken (another make dev?); unset or change PORTGUARD_LOCAL_API_PORT"
else
  API_PORT="$(free_port 3000)"
fi
API="http://127.0.0.1:$API_PORT"
# Alert emails link to this console (unless CONSOLE_URL was set by hand).
if [ "$CONSOLE_URL" = "http://127.0.0.1:${PORTGUARD_LOCAL_API_PORT:-3000}/" ]; then
  export CONSOLE_URL="$API/"
fi
: >"$LOCAL_API_LOG"
spawn_detached "$LOCAL_API_PIDFILE" "$LOCAL_API_LOG" "$ROOT" \
  "$BIN_DIR/portguard-local-api" \
  --listen "127.0.0.1:$API_PORT" --watch "127.0.0.1:$WATCH_PORT" --key-file "$DEV_KEY" --console-dir "$ROOT/console"
wait_for_http 30 "$API/" GET || { tail -n 20 "$LOCAL_API_LOG" >&2; die "the local API did not start (log $LOCAL_API_LOG)"; }
# Telnyx's API (contract §16): the stand-in, before the functions, which
# inherit its address.
TELNYX_PORT="$(free_port 4011)"
: >"$TELNYX_LOG"
spawn_detached "$TELNYX_PIDFILE" "$TELNYX_LOG" "$ROOT" \
  "$BIN_DIR/telnyx-stand-in" serve --listen "127.0.0.1:$TELNYX_PORT"
wait_for_http 30 "http://127.0.0.1:$TELNYX_PORT/_calls" GET || { tail -n 20 "$TELNYX_LOG" >&2; die "the Telnyx stand-in did not start (log $TELNYX_LOG)"; }
export TELNYX_API_BASE_URL="http://127.0.0.1:$TELNYX_PORT/v2"

# The functions under watch, in their own session (stop_tree stops them); they
# inherit this environment. Each is started now with one invalid {}, so the
# first request finds it running.
: >"$WATCH_LOG"
log "starting cargo lambda watch on $WATCH_URL (log $WATCH_LOG)"
spawn_detached "$WATCH_PIDFILE" "$WATCH_LOG" "$ROOT" \
  cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT"
# A GET on the invoke route answers 405 at once, without starting anything.
wait_for_http 60 "$WATCH_URL/2015-03-31/functions/set-pin/invocations" GET \
  || { tail -n 40 "$WATCH_LOG" >&2; die "cargo lambda watch did not listen on $WATCH_PORT (log $WATCH_LOG)"; }
log "starting each function under watch"
warm_watch "$WATCH_URL" "$WATCH_PIDFILE" "$WATCH_LOG" || die "a function did not start (log $WATCH_LOG)"
ENV_HINT="export AWS_ENDPOINT_URL_DYNAMODB=$AWS_ENDPOINT_URL_DYNAMODB TABLE_NAME=$TABLE_NAME AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1"
INVOKE="cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port $WATCH_PORT"
cat <<EOF

  portguard dev — ready: every function built and running under cargo lambda watch

  functions on $WATCH_URL, DynamoDB Local on $AWS_ENDPOINT_URL_DYNAMODB,
  the local SES on $AWS_ENDPOINT_URL_SESV2
  table $TABLE_NAME; tenants t-100 (US, ACC-1001) and t-200 (GB, ACC-2001)

  In another terminal (from $ROOT):
    export PATH="$VENV_BIN:\$PATH"
    $INVOKE set-pin --data-file events/set-pin-get.json
    $INVOKE set-pin --data-file events/set-pin-put.json
    $INVOKE set-pin --data-file events/set-pin-delete.json
    $INVOKE submit-port-out --data-file events/port-out-post.json
    $INVOKE submit-port-out --data-file events/port-outs-list.json
    $INVOKE submit-port-out --data-file events/port-out-get.json
    $INVOKE set-pin --data-file events/audit-events-list.json
    $INVOKE set-pin --data-file events/transfer-pins-post.json
    $INVOKE set-pin --data-file events/transfer-pins-list.json
    # a webhook signature is valid for 300 s: sign one for an order id first
    cargo run -q -p carrier-webhook --example sign -- --port-out-id po_... --type port_out.completed > /tmp/webhook.json
    $INVOKE carrier-webhook --data-file /tmp/webhook.json
    $INVOKE status-check --data-file events/status-check.json

  or with curl, through the local API (as API Gateway would: routes, JWTs, scopes):
    ADMIN=\$(cargo run -q --bin portguard-admin -- dev-token --tenant-id t-100)
    CARRIER=\$(cargo run -q --bin portguard-admin -- dev-token --carrier-id carrier-a)
    curl -s $API/v1/pin -H "Authorization: Bearer \$ADMIN"
    curl -s -X PUT $API/v1/pin -H "Authorization: Bearer \$ADMIN" -d '{"pin":"48151623"}'
    curl -s -X POST $API/v1/port-outs -H "Authorization: Bearer \$CARRIER" \\
      -d '{"accountNumber":"ACC-1001","pin":"48151623","phoneNumbers":["+12065550100"],"pon":"PON-1"}'
    curl -s "$API/v1/port-outs?status=pending" -H "Authorization: Bearer \$ADMIN"
    curl -s "$API/v1/audit-events?limit=10" -H "Authorization: Bearer \$ADMIN"
  (README.md lists every route.)

  The console: $API/  (development sign-in: pick t-100 or t-200)
  Local API log: $LOCAL_API_LOG; watch's log (the functions' output, shown below): $WATCH_LOG
  After an edit watch rebuilds the function: until it runs again the local API
  answers 503 UNAVAILABLE with Retry-After: 5.

  alert emails (section 17), from $ALERT_FROM_ADDRESS: every message sent is on
    $AWS_ENDPOINT_URL_SESV2/   (the local SES's page; JSON: curl -s $AWS_ENDPOINT_URL_SESV2/store)

  notifications (section 14): a receiver, the tenant's endpoint, and the stream fed to the notifier:
    python3 scripts/notify-dev.py receive 9900          # prints each notification (WHSEC=whsec_... verifies it)
    curl -s -X POST http://127.0.0.1:$WATCH_PORT/2015-03-31/functions/set-pin/invocations -d @events/notification-endpoint-put.json
    $ENV_HINT
    $VENV_BIN/python scripts/notify-dev.py pump http://127.0.0.1:$WATCH_PORT
    $INVOKE notifier --data-file events/notifier-schedule.json   # due retries now

  Telnyx (section 16): its API's stand-in on $TELNYX_API_BASE_URL (log $TELNYX_LOG)
    cargo run -q --bin telnyx-stand-in -- send --to $API/v1/integrations/telnyx/port-out-events --pin 11111111 --numbers +12065550100
    cargo run -q --bin telnyx-stand-in -- calls --url http://127.0.0.1:$TELNYX_PORT/_calls

  the admin CLI against this database:
    $ENV_HINT
    cargo run -q --bin portguard-admin -- tenant show --tenant-id t-100

  Ctrl-C stops everything.

EOF

# Watch's output from here on, until watch exits or Ctrl-C (the EXIT trap
# stops watch, the local API, the stand-in, DynamoDB Local and SES). `wait`
# returns at once on a signal, so the traps run promptly.
WATCH_PID="$(cat "$WATCH_PIDFILE")"
tail -c "+$(($(stat -c %s "$WATCH_LOG") + 1))" -F --pid="$WATCH_PID" "$WATCH_LOG" &
TAIL_PID=$!
wait "$TAIL_PID" || true
TAIL_PID=
log "cargo lambda watch exited (log $WATCH_LOG)"
exit 1
