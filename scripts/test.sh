#!/usr/bin/env bash
# `make test`: formatting, clippy, unit + integration tests against DynamoDB
# Local and the local SES (scripts/ses-local.sh), then the end-to-end tests
# against the real function binaries running under `cargo lambda watch`. Starts everything it needs on free ports and stops
# it again on exit, Ctrl-C or SIGTERM. Exits non-zero when any stage fails.
#
# Stages run in order and keep going after a failure (so one run reports them
# all); PORTGUARD_FAIL_FAST=1 stops at the first failure.
#
# Environment knobs (all optional):
#   PORTGUARD_SKIP_E2E=1        skip the end-to-end stage
#   PORTGUARD_SKIP_FUZZ=1       skip the fuzz smoke stage (scripts/fuzz.sh)
#   PORTGUARD_SKIP_BROWSER=1    skip the console's browser stage
#   PORTGUARD_BROWSER_TESTS     name filter for the browser tests (default
#                               console_: those whose routes exist; "" runs all)
#   PORTGUARD_FAIL_FAST=1       stop at the first failing stage
#   PORTGUARD_WATCH_CONCURRENCY instances per function under watch (default 8)
#   PORTGUARD_BUILD_TIMEOUT     seconds for each cargo stage (default 3600)
#   PORTGUARD_E2E_TIMEOUT       seconds for the e2e test run (default 1200)
set -euo pipefail
LOG_TAG='test'
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

BUILD_TIMEOUT=${PORTGUARD_BUILD_TIMEOUT:-3600}
E2E_TIMEOUT=${PORTGUARD_E2E_TIMEOUT:-1200}
CONCURRENCY=${PORTGUARD_WATCH_CONCURRENCY:-8}
DDB_NAME="test-$$"
SES_NAME="test-$$"
WATCH_PIDFILE="$RUN_DIR/watch-test-$$.pid"
LOCAL_API_PIDFILE="$RUN_DIR/local-api-test-$$.pid"
LOCAL_API_LOG="$RUN_DIR/local-api-test-$$.log"
DEV_KEY="$RUN_DIR/dev-jwt-test-$$.key"
export PORTGUARD_WATCH_LOG="$RUN_DIR/watch-test-$$.log"

declare -a SUMMARY=()
FAILED=0
STARTED_AT=$SECONDS

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  stop_tree "$LOCAL_API_PIDFILE" 5
  stop_tree "$WATCH_PIDFILE" 10
  rm -f "$DEV_KEY"
  "$ROOT/scripts/dynamodb-local.sh" stop "$DDB_NAME" >/dev/null 2>&1
  "$ROOT/scripts/ses-local.sh" stop "$SES_NAME" >/dev/null 2>&1
  # Keep the logs only when something failed.
  if ((rc == 0 && FAILED == 0)); then
    rm -f "$PORTGUARD_WATCH_LOG" "$LOCAL_API_LOG" "$RUN_DIR/dynamodb-$DDB_NAME.log" "$RUN_DIR/ses-$SES_NAME.log"
  fi
  if ((rc == 130 || rc == 143)); then SUMMARY+=("interrupted (exit $rc)"); fi
  if ((${#SUMMARY[@]} > 0)); then
    printf '\n== make test summary (%ss) ==\n' "$((SECONDS - STARTED_AT))" >&2
    printf '  %s\n' "${SUMMARY[@]}" >&2
  fi
  if ((rc == 0 && FAILED > 0)); then rc=1; fi
  if ((rc != 0)); then printf 'make test: FAILED\n' >&2; else printf 'make test: ok\n' >&2; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'stop_child; exit 130' INT
trap 'stop_child; exit 143' TERM

# stage NAME CMD...: runs CMD, records ok/FAILED with its duration.
stage() {
  local name=$1 start=$SECONDS rc=0
  shift
  log "── $name: $*"
  "$@" || rc=$?
  if ((rc == 0)); then
    SUMMARY+=("ok      $name ($((SECONDS - start))s)")
  else
    SUMMARY+=("FAILED  $name ($((SECONDS - start))s, exit $rc)")
    FAILED=$((FAILED + 1))
    if [ "${PORTGUARD_FAIL_FAST:-0}" = 1 ]; then exit "$rc"; fi
  fi
  return 0
}

skip() { SUMMARY+=("skipped $1 ($2)"); log "── $1 skipped: $2"; }

# ── set-up ────────────────────────────────────────────────────────────────
"$ROOT/scripts/bootstrap.sh"
use_venv
export_dev_env
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-$([ -t 2 ] && echo always || echo never)}

DDB_URL="$("$ROOT/scripts/dynamodb-local.sh" start "$DDB_NAME")"
export AWS_ENDPOINT_URL_DYNAMODB="$DDB_URL"
# A test binary without DynamoDB Local skips itself (`make check`); here
# that would be a silent pass, so it fails instead.
export PORTGUARD_REQUIRE_DYNAMODB_LOCAL=1
log "DynamoDB Local at $AWS_ENDPOINT_URL_DYNAMODB"
# The local SES: alert emails land there (the functions, in process and under
# watch, send from ALERT_FROM_ADDRESS; tests read its store, tests/src/ses.rs).
AWS_ENDPOINT_URL_SESV2="$("$ROOT/scripts/ses-local.sh" start "$SES_NAME")"
export AWS_ENDPOINT_URL_SESV2
export PORTGUARD_REQUIRE_SES_LOCAL=1
log "local SES at $AWS_ENDPOINT_URL_SESV2 (messages on its page, GET /store as JSON)"

# ── static checks and tests ───────────────────────────────────────────────
stage "fmt" cargo fmt --all -- --check
stage "clippy" with_timeout "$BUILD_TIMEOUT" cargo clippy --workspace --all-targets -- -D warnings
stage "test" with_timeout "$BUILD_TIMEOUT" cargo test --workspace --no-fail-fast
# The SAM template and OpenAPI guards (infra/tests), cfn-lint, sam validate.
stage "infra" make --no-print-directory lint-infra

# ── end to end: the function binaries under cargo lambda watch ────────────
# POSTs {} to each function's invoke endpoint until it answers with any HTTP
# status; the first invocation of a function starts its binary (compiling it if
# needed), hence the long per-function limit. {} is not a valid event, so the
# function answers with an error and touches nothing.
warm_functions() {
  local fn code deadline
  deadline=$((SECONDS + ${PORTGUARD_WATCH_START_TIMEOUT:-900}))
  for fn in "${PORTGUARD_FUNCTIONS[@]}"; do
    while :; do
      kill -0 "$(cat "$WATCH_PIDFILE" 2>/dev/null || echo 0)" 2>/dev/null \
        || { log "cargo lambda watch exited; see $PORTGUARD_WATCH_LOG"; tail -n 40 "$PORTGUARD_WATCH_LOG" >&2; return 1; }
      ((SECONDS < deadline)) || { log "timed out waiting for $fn; see $PORTGUARD_WATCH_LOG"; tail -n 40 "$PORTGUARD_WATCH_LOG" >&2; return 1; }
      # Short attempts keep Ctrl-C prompt; an abandoned attempt only leaves
      # one more {} in the function's queue.
      code="$(http_status POST "$PORTGUARD_WATCH_URL/2015-03-31/functions/$fn/invocations" \
        --max-time 20 -H 'Content-Type: application/json' -d '{}')"
      if [ "$code" != 000 ] && [ -n "$code" ]; then
        log "$fn answers (HTTP $code)"
        break
      fi
      sleep 1
    done
  done
}

run_e2e() {
  export TABLE_NAME="portguard-e2e-$$"
  # The notifier may deliver to the e2e test's loopback receiver.
  export NOTIFY_ALLOW_LOOPBACK_HTTP=true
  log "creating table $TABLE_NAME"
  with_timeout "$BUILD_TIMEOUT" cargo run -q --bin portguard-admin -- create-table || return 1

  # Build the binaries first, so watch starts them at once and a compile error
  # shows here rather than as a hanging invocation. Watch runs `cargo run
  # --bin NAME` with no package flag, so features are unified over the
  # workspace's default members: built the same way here (no -p), nothing is
  # compiled twice (with -p per function, the SDK was built once for this
  # selection and parts of it again for watch's).
  with_timeout "$BUILD_TIMEOUT" cargo build --bins || return 1

  local port
  # shellcheck disable=SC2119
  port="$(free_port)"
  export PORTGUARD_WATCH_URL="http://127.0.0.1:$port"
  : >"$PORTGUARD_WATCH_LOG"
  log "starting cargo lambda watch on $PORTGUARD_WATCH_URL (log $PORTGUARD_WATCH_LOG)"
  # The functions inherit this environment (TABLE_NAME, AWS_*, PIN_PEPPER,
  # CARRIER_WEBHOOK_SECRETS). --ignore-changes: edits made during the run must
  # not restart the functions under the tests.
  spawn_detached "$WATCH_PIDFILE" "$PORTGUARD_WATCH_LOG" "$ROOT" \
    cargo lambda watch \
    --invoke-address 127.0.0.1 --invoke-port "$port" \
    --concurrency "$CONCURRENCY" --ignore-changes
  # A GET on the invoke route answers 405 at once, without starting anything.
  wait_for_http 60 "$PORTGUARD_WATCH_URL/2015-03-31/functions/set-pin/invocations" GET \
    || { log "watch did not listen on $port"; tail -n 40 "$PORTGUARD_WATCH_LOG" >&2; return 1; }
  warm_functions || return 1

  log "PORTGUARD_WATCH_URL=$PORTGUARD_WATCH_URL TABLE_NAME=$TABLE_NAME PORTGUARD_WATCH_LOG=$PORTGUARD_WATCH_LOG"
  with_timeout "$E2E_TIMEOUT" cargo test -p portguard-tests --test e2e -- --ignored --test-threads 1
}

if [ "${PORTGUARD_SKIP_E2E:-0}" = 1 ]; then
  skip "e2e" "PORTGUARD_SKIP_E2E=1"
elif printf '%s\n' "${SUMMARY[@]}" | grep -Eq '^FAILED +(clippy|test) '; then
  skip "e2e" "the build or the tests failed"
else
  stage "e2e" run_e2e
fi

# ── browser: the console in headless Chromium, through the local API ─────
# Reuses the e2e stage's table and `cargo lambda watch`; adds the demo tenants
# and portguard-local-api (a fresh signing key per run) in front of watch.
run_browser() {
  PORTGUARD_BROWSER=1 "$ROOT/scripts/bootstrap.sh" || return 1
  seed_demo_tenants || return 1
  ensure_dev_jwt_key "$DEV_KEY"
  # --workspace, as the test stage: the same features, so nothing rebuilds
  # (building an integration test builds its package's binary too).
  with_timeout "$BUILD_TIMEOUT" cargo test --workspace --test console_browser --no-run || return 1
  local port api
  # shellcheck disable=SC2119
  port="$(free_port)"
  api="http://127.0.0.1:$port"
  : >"$LOCAL_API_LOG"
  spawn_detached "$LOCAL_API_PIDFILE" "$LOCAL_API_LOG" "$ROOT" \
    "${CARGO_TARGET_DIR:-$ROOT/target}/debug/portguard-local-api" \
    --listen "127.0.0.1:$port" --watch "${PORTGUARD_WATCH_URL#http://}" \
    --key-file "$DEV_KEY" --console-dir "$ROOT/console"
  wait_for_http 30 "$api/" GET || { log "the local API did not start"; tail -n 20 "$LOCAL_API_LOG" >&2; return 1; }
  local filter=${PORTGUARD_BROWSER_TESTS-console_}
  log "console at $api; screenshots in $RUN_DIR/screenshots (log $LOCAL_API_LOG)"
  PORTGUARD_LOCAL_API_URL="$api" PORTGUARD_DEV_JWT_KEY_FILE="$DEV_KEY" \
    PORTGUARD_SCREENSHOTS="$RUN_DIR/screenshots" \
    with_timeout "${PORTGUARD_BROWSER_TIMEOUT:-600}" \
    cargo test --workspace --test console_browser -- --ignored --test-threads 1 ${filter:+"$filter"}
}

if [ "${PORTGUARD_SKIP_BROWSER:-0}" = 1 ]; then
  skip "browser" "PORTGUARD_SKIP_BROWSER=1"
elif ! printf '%s\n' "${SUMMARY[@]}" | grep -Eq '^ok +e2e '; then
  skip "browser" "it runs against the e2e stage's stack, which did not pass"
else
  stage "browser" run_browser
fi

# ── fuzz smoke: each cargo-fuzz target briefly (scripts/fuzz.sh) ──────────
if [ "${PORTGUARD_SKIP_FUZZ:-0}" = 1 ]; then
  skip "fuzz" "PORTGUARD_SKIP_FUZZ=1"
else
  stage "fuzz" with_timeout "$BUILD_TIMEOUT" bash scripts/fuzz.sh
fi
