#!/usr/bin/env bash
# `make dev`: DynamoDB Local (port 8000, or the first free one above), the table
# and two demo tenants, then the five functions under `cargo lambda watch` on
# port 9000 (or the first free one above), reloading as you edit. The notifier
# may send to loopback (NOTIFY_ALLOW_LOOPBACK_HTTP=true); scripts/notify-dev.py
# is a receiver and feeds it the table's stream.
# Ctrl-C stops watch and DynamoDB Local.
#
#   t-100  ACC-1001  US  "Demo Tenant"        +12065550100..102
#   t-200  ACC-2001  GB  "Demo Tenant (GB)"   +12065550200  (not eligible for a PIN)
set -euo pipefail
LOG_TAG=dev
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

DDB_NAME=dev

# shellcheck disable=SC2317 # invoked by the traps
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  "$ROOT/scripts/dynamodb-local.sh" stop "$DDB_NAME" >/dev/null 2>&1
  log "stopped"
  exit "$rc"
}

"$ROOT/scripts/bootstrap.sh"
use_venv
export_dev_env
export TABLE_NAME=portguard-dev
# Development only: notification endpoints may be http://127.0.0.1 / localhost.
export NOTIFY_ALLOW_LOOPBACK_HTTP=true

# A fresh in-memory database each time: stop one a killed session left behind.
"$ROOT/scripts/dynamodb-local.sh" stop "$DDB_NAME" >/dev/null 2>&1 || true
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
AWS_ENDPOINT_URL_DYNAMODB="$("$ROOT/scripts/dynamodb-local.sh" start "$DDB_NAME" "$(free_port 8000)")"
export AWS_ENDPOINT_URL_DYNAMODB

admin() { cargo run -q -p portguard-admin -- "$@"; }
log "creating table $TABLE_NAME and demo tenants"
admin create-table
admin tenant put --tenant-id t-100 --account-number ACC-1001 --country US --name "Demo Tenant"
admin numbers add --tenant-id t-100 +12065550100 +12065550101 +12065550102
admin tenant put --tenant-id t-200 --account-number ACC-2001 --country GB --name "Demo Tenant (GB)"
admin numbers add --tenant-id t-200 +12065550200

WATCH_PORT="$(free_port 9000)"
ENV_HINT="export AWS_ENDPOINT_URL_DYNAMODB=$AWS_ENDPOINT_URL_DYNAMODB TABLE_NAME=$TABLE_NAME AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1"
INVOKE="cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port $WATCH_PORT"
cat <<EOF

  portguard dev — functions on http://127.0.0.1:$WATCH_PORT, DynamoDB Local on $AWS_ENDPOINT_URL_DYNAMODB
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

  or with curl:
    curl -s -X POST http://127.0.0.1:$WATCH_PORT/2015-03-31/functions/set-pin/invocations -d @events/set-pin-get.json

  notifications (section 14): a receiver, the tenant's endpoint, and the stream fed to the notifier:
    python3 scripts/notify-dev.py receive 9900          # prints each notification (WHSEC=whsec_... verifies it)
    curl -s -X POST http://127.0.0.1:$WATCH_PORT/2015-03-31/functions/set-pin/invocations -d @events/notification-endpoint-put.json
    $ENV_HINT
    $VENV_BIN/python scripts/notify-dev.py pump http://127.0.0.1:$WATCH_PORT
    $INVOKE notifier --data-file events/notifier-schedule.json   # due retries now

  the admin CLI against this database:
    $ENV_HINT
    cargo run -q -p portguard-admin -- tenant show --tenant-id t-100

  Ctrl-C stops everything.

EOF

# Foreground, not exec: the EXIT trap must still stop DynamoDB Local. The
# functions inherit this environment.
rc=0
cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" || rc=$?
exit "$rc"
